"""Damaged training shards: what `training_dataset.skip_damaged_records` leaves out, and
the one line that stops training without it.

The shards are checked whole before the first step (`film_tf.data.shards`,
called by `train_step.validate` and the input pipeline); this module turns
that check into what the loop reports: the warning line and the counts for
the log and TensorBoard when damaged records are skipped, and the error
naming the shard when the data goes bad while training runs (a file changed
under a running job).
"""

from __future__ import annotations

import dataclasses
import sys

from absl import logging

from film_tf.data import shards as shards_lib
from film_tf.training.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class SkipReport:
    """What skipping leaves out of the training files.

    Attributes:
      records: records known to be left out (a truncated shard without a
        counts file counts its damaged record only).
      shards: damaged shards.
      line: the one line said when skipping, or None when all are whole.
    """

    records: int = 0
    shards: int = 0
    line: str | None = None

    def scalars(self) -> dict[str, float]:
        """The TensorBoard scalars (`data/...`) of a run that skips records."""
        if not self.shards:
            return {}
        return {"data/skipped_damaged_records": self.records, "data/damaged_shards": self.shards}


def skip_report(config: TrainConfig) -> SkipReport:
    """Checks the training files (cached: `validate` read them already) and,
    with `skip_damaged_records`, says once on stderr and in the log what is
    left out. Without it a damaged shard raises DamagedShardError here."""
    checked = [
        s for path in config.train_files for s in shards_lib.check_shards(path, config.skip_damaged_records)
    ]
    line = shards_lib.skipped_summary(checked)
    if line is None:
        return SkipReport()
    print(f"warning: {line}", file=sys.stderr, flush=True)
    logging.warning("%s", line)
    damaged = sum(1 for s in checked if s.problem)
    return SkipReport(shards_lib.skipped_records(checked), damaged, line)


def error_while_training(config: TrainConfig, error: Exception, step: int) -> ValueError:
    """The one-line error for a DataLossError met at `step` (the files changed
    after the check): the damaged shard found by checking them again, or
    TensorFlow's message when they now read whole."""
    for path in config.train_files:
        try:
            shards_lib.check_shards(path)
        except shards_lib.DamagedShardError as e:
            return shards_lib.DamagedShardError(f"At step {step}: {e}")
        except FileNotFoundError as e:
            return shards_lib.DamagedShardError(f"At step {step}: {e}")
    message = " ".join(getattr(error, "message", str(error)).split())
    return shards_lib.DamagedShardError(f"The training data became unreadable at step {step}: {message}")
