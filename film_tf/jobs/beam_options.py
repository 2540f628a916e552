"""Apache Beam pipeline options, as every film_tf Beam job takes them.

The dataset builders (`film_tf.datasets.beam_pipeline`), batch evaluation
(`film_tf.evaluation.beam_eval`) and the video job (`film_tf.jobs.beam_video`)
pass the user's Beam options (`--runner`, `--direct_num_workers`,
`--direct_running_mode`, a Dataflow/Flink/Spark runner's options) through
untouched, filled in with the in-process default (`default_pipeline_args`),
and reject an option no Beam options class knows (`check_pipeline_args`: Beam
itself would drop a typo with a warning). The default runner is Beam's
in-process FnApiRunner: no network, no runner binary to download (Beam's
`DirectRunner` may switch to the Prism runner, which does).

The in-process runner's timed data flush is turned off (`disable_timed_flush`,
called by `default_pipeline_args`): in apache-beam (2.78.0) it silently drops
elements under CPU load, in every running mode but `in_memory`.

`as_dofn` wraps a plain worker object (`setup()` once per worker,
`process(element)` per element) as a `beam.DoFn`, so that the workers' classes
import without Beam.

Standard library only at import; Beam is imported when options are filled in or checked.
"""

from __future__ import annotations

from typing import Any, Sequence

INSTALL_HINT = 'This runs on Apache Beam: pip install -e ".[beam]" (or pip install apache-beam).'


def import_beam(hint: str = INSTALL_HINT):
    """`apache_beam`, or an ImportError whose message (`hint`) says what to install (one line)."""
    try:
        import apache_beam
    except ImportError:
        raise ImportError(hint) from None
    return apache_beam


def _option_names(args: Sequence[str]) -> set[str]:
    return {a[2:].split("=", 1)[0].replace("-", "_") for a in args if a.startswith("--")}


def default_pipeline_args(args: Sequence[str] = (), num_workers: int = 0) -> list[str]:
    """`args` plus the defaults for each option they do not set: the in-process
    `FnApiRunner`, `multi_threading`, `num_workers` workers (0: one per core).
    Also turns off the in-process runner's timed data flush, which loses
    elements (`disable_timed_flush`), for every pipeline run after it."""
    disable_timed_flush()
    given = _option_names(args)
    defaults = []
    if "runner" not in given:
        defaults.append("--runner=FnApiRunner")
    if "direct_num_workers" not in given:
        defaults.append(f"--direct_num_workers={num_workers}")
    if "direct_running_mode" not in given:
        defaults.append("--direct_running_mode=multi_threading")
    return list(args) + defaults


def disable_timed_flush() -> bool:
    """Turns off the timed flush of the in-process runner's data plane for the
    pipelines this process runs from now on; returns whether it was on.

    Why: Beam's `TimeBasedBufferingClosableOutputStream` (runners/worker/
    data_plane.py, apache-beam 2.78.0) has a thread that every second sends
    the stream's buffer (`get()`) and then empties it (`_clear()`), while the
    bundle's own thread keeps writing elements into that buffer without a
    lock: what it writes while the send is under way is discarded, silently.
    The in-process `FnApiRunner` uses such streams (1 s,
    `worker_handlers.DATA_BUFFER_TIME_LIMIT_MS`) for its gRPC data server
    (each bundle's input, modes `multi_threading` and `multi_processing`) and
    its in-process gRPC workers (each bundle's output, `multi_threading`); under
    CPU load the dataset builders lost runs of consecutive examples that way.
    Without the timer a stream is sent by its writer only, when its buffer
    passes 10 MB or the bundle ends: nothing lost, and a batch job has no use
    for the timer (it bounds the latency of streaming pipelines). `in_memory`
    and remote runners never use these streams; without Beam this does nothing.
    """
    try:
        from apache_beam.runners.portability.fn_api_runner import worker_handlers
    except ImportError:
        return False
    if not getattr(worker_handlers, "DATA_BUFFER_TIME_LIMIT_MS", 0):
        return False
    # Read when the runner starts its data server and workers: 0 (falsy) gives
    # size-based streams on both sides.
    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0
    return True


def unknown_pipeline_args(args: Sequence[str]) -> list[str]:
    """The options in `args` that no Beam options class knows (a typo would
    otherwise be dropped by Beam with a warning)."""
    beam = import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = beam.options.pipeline_options._BeamArgumentParser(allow_abbrev=False)
    for cls in _subclasses(PipelineOptions):
        cls._add_argparse_args(parser)
    return parser.parse_known_args(list(args))[1]


def check_pipeline_args(args: Sequence[str]) -> None:
    """A ValueError naming any option in `args` that no Beam options class knows."""
    unknown = unknown_pipeline_args(args)
    if unknown:
        raise ValueError(
            f"Unknown option(s): {' '.join(unknown)} (neither a flag of this binary nor a Beam option)."
        )


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def as_dofn(worker: Any) -> Any:
    """A `beam.DoFn` whose `setup` calls `worker.setup()` (once per worker:
    e.g. loading the model) and whose `process(element)` yields from
    `worker.process(element)`; `worker` must be picklable."""
    beam = import_beam()

    class WorkerDoFn(beam.DoFn):
        def __init__(self, worker):
            self.worker = worker

        def setup(self):
            self.worker.setup()

        def process(self, element):
            yield from self.worker.process(element)

    return WorkerDoFn(worker)
