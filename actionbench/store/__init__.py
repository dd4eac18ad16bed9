"""The run store: `runs/<id>/` holds everything about one experiment.

    runs/<id>/config.yaml      the resolved spec                       (run_store.py)
    runs/<id>/metrics.jsonl    one JSON object per epoch               (metrics_log.py)
    runs/<id>/checkpoint.pt    the last epoch's state, for resuming    (engine/checkpoint.py)
    runs/<id>/predictions.npz  the last evaluation's per-video scores  (run_predictions.py, predictions.py)
    runs/<id>/result.json      the typed record, written at the end    (record.py, provenance.py,
                                                                        reproducibility.py)
    runs/.<id>.lock            held (a POSIX lock) by the process running the experiment
"""
