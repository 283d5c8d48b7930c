"""Mode-space learning dynamics under curation: problems, policies, exact simulation, fits."""
