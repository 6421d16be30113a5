#!/usr/bin/env python3
"""Prints the scalars of a TensorBoard log directory as JSON, read by TensorBoard's own
EventAccumulator (a test helper: TrainCommandTests checks what `xtf train --report-to
tensorboard` writes against losses.jsonl, ScoringEventsTests what `xtf score`/`xtf mask`
write against stats.json). Several event files in LOGDIR are read in file-name order.

    python3 scripts/read_tensorboard.py LOGDIR   ->   {"train/loss": [[step, value], ...], ...}
"""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

accumulator = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
accumulator.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}))
