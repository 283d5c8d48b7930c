"""The report's findings: one plain sentence per finding, with the number, its interval and the
range it holds for, read from the study's parts (nothing recomputed)."""

from specurate.report.findings import findings, plain


def _spectrum(**kw):
    r = {
        "kind": "spectrum",
        "kernel": "linear",
        "data": "mydata",
        "n": 1000,
        "b": 1.41,
        "b_ci": [1.39, 1.43],
        "fit_range": [3, 30],
        "a": 1.34,
        "a_ci": [1.31, 1.38],
        "learning_exponent": 0.24,
        "learning_exponent_ci": [0.22, 0.27],
        "single_power_law": True,
        "model_comparison": {},
    }
    r.update(kw)
    return r


def _reweight(weighting, lo, hi, **kw):
    r = {
        "kind": "reweight",
        "weighting": weighting,
        "data": "mydata",
        "n": 1000,
        "n_kept": 500,
        "C": 2.0,
        "delta_b": (lo + hi) / 2,
        "delta_b_ci": [lo, hi],
        "fit_range_w": [3, 25],
        "loewner_upper_ok": True,
    }
    r.update(kw)
    return r


def test_a_clean_power_law_and_its_loss_exponent():
    out = findings({"parts": {"s": _spectrum()}})
    assert out[0] == (
        "The spectrum of mydata (1,000 examples, linear operator) decays as a power law "
        "λ_k ∝ k^{-b} (λ_k: the k-th eigenvalue) with b = 1.41 [1.39, 1.43] over ranks 3–30."
    )
    assert "L ∝ t^{-(a-1)/b} = t^{-0.24} [0.22, 0.27]" in out[1]
    assert plain(out[1]).count("{") == 0 and "t^-(a-1)/b = t^-0.24" in plain(out[1])


def test_a_bent_spectrum_is_called_a_local_slope_with_its_p_value():
    bent = _spectrum(
        single_power_law=False,
        model_comparison={
            "cutoff": {"loglik_ratio": -16.6, "p_value": 8.5e-9},
            "exponential": {"loglik_ratio": 14.6, "p_value": 0.007},
        },
    )
    text = findings({"parts": {"s": bent}})[0]
    assert "is not a clean power law" in text
    assert "exponential cutoff fits better, p-value 9e-09" in text
    assert "as the local slope" in text and "ranks 3–30" in text


def test_weightings_get_a_verdict_from_their_interval_and_theorem_1_its_bound():
    parts = {
        "r1": _reweight("random-prune", -0.02, 0.03),
        "r2": _reweight("keep-easy", 0.09, 0.11),
        "r3": _reweight("keep-hard", -0.08, -0.03),
        "r4": _reweight("upweight-hard-x4", -0.01, 0.01, C=2.29, n_kept=1000),
    }
    out = findings({"parts": parts})
    assert "the control; keeps 500 of 1,000 examples, C = 2) leaves the exponent" in out[0]
    assert "steepens" in out[1] and "b_w − b = +0.100 [+0.090, +0.110] on ranks 3–25" in out[1]
    assert "flattens" in out[2]
    assert "C = 2.3" in out[4] and "held at every rank" in out[4]


def test_a_random_control_that_moves_is_flagged_as_noise():
    out = findings({"parts": {"r": _reweight("random-prune", 0.01, 0.03)}})
    assert "read differences this small as noise" in out[0]


def test_groups_sentences_state_shares_and_closed_form_gains():
    g = {
        "kind": "groups",
        "data": "d",
        "n_groups": 3,
        "mass": [0.7, 0.2, 0.1],
        "mass_exponent": 1.8,
        "imbalance": 7.0,
        "budgets": [10, 100],
        "rules": {
            "static C=4": {"speedup": [2.0, 3.9], "largest_weight": [4, 4]},
            "dynamic (unbounded)": {"speedup": [2.5, 5.0], "largest_weight": [5, 6]},
        },
    }
    out = findings({"parts": {"g": g}})
    assert out[0].startswith("The 3 groups of d hold shares p_k of the examples from 0.7")
    assert "at 100 steps" in out[1] and "5× sooner" in out[1] and "C=4: 3.9×" in out[1]


def test_a_tiny_but_resolved_change_is_called_negligible():
    out = findings({"parts": {"r": _reweight("near-duplicates", -0.002, -0.0002)}})
    assert "moves the exponent by less than 0.01, a negligible change" in out[0]
