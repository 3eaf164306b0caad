"""Likelihood to buy within 90 days: a learned, calibrated, explained second score.

- `features`: what the model may see of a lead at a moment T (events up to T only).
- `dataset`: snapshots of past moments, their labels, and the time split.
- `training`: the model, the two baselines, the holdout metrics, publishing.
- `storage`: the stored model (data, never a pickle) and applying it.
- `explain`: contributions that add up to the logit, bands and reasons.
- `refresh`: writing each lead's likelihood (on rescore, and after publishing).
"""
