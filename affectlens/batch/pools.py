"""Who scores the chunks: the scorer spec, and the pools that run it (in this process, REST threads, or
``--workers N`` spawned processes that exit with their parent).

Chunks are dispatched in order with a bounded number in flight (:func:`ordered_map`), so the output order is
the input order and memory does not grow with the input.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from affectlens.config import available_cores
from affectlens.errors import ConfigError

from .formatting import Formatter
from .rest import RestOptions, RestScorer, predictions_url
from .types import BatchError, BatchOptions, Chunk, ChunkResult, InProcess, Record, Scorer, ScorerFactory, Workers

if TYPE_CHECKING:
    from affectlens.engine import EngineConfig

ScorerSpec = InProcess | Workers | RestOptions
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
IN_FLIGHT_PER_WORKER = 2  # chunks in flight per worker (or per REST connection) by default
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_S = 1.0  # where the kernel cannot signal a parent's death: how often a worker checks


def cpu_count() -> int:
    """CPU cores this process may use (affinity-aware)."""
    return max(1, available_cores())


def _build_engine(config: EngineConfig, threads: int) -> Scorer:
    from affectlens.engine import Engine

    if threads and config.neural.intra_op_threads == 0:
        config = replace(config, neural=replace(config.neural, intra_op_threads=threads))
    return Engine(config)


def engine_factory(config: EngineConfig | None = None) -> ScorerFactory:
    """A picklable ``factory(threads) -> Engine`` for an ``EngineConfig`` (default: the hybrid engine)."""
    if config is None:
        from affectlens.engine import EngineConfig

        config = EngineConfig()
    return functools.partial(_build_engine, config)


def resolve_scorer(
    scorer: ScorerSpec | None = None,
    *,
    engine: Scorer | None = None,
    factory: ScorerFactory | None = None,
    engine_config: EngineConfig | None = None,
    rest: RestOptions | None = None,
) -> ScorerSpec:
    """The one scorer spec from ``scorer=`` or one of its shorthands (default: the hybrid engine)."""
    given: list[ScorerSpec] = [s for s in (scorer, rest) if s is not None]
    given += [InProcess(engine)] if engine is not None else []
    given += [Workers(factory)] if factory is not None else []
    given += [Workers(engine_factory(engine_config))] if engine_config is not None else []
    if len(given) > 1:
        raise ConfigError("pass one scorer: scorer=, engine=, factory=, engine_config= or rest=")
    return given[0] if given else Workers(engine_factory())


def describe_scorer(factory: Any) -> str:
    """A stable name of a factory: ``engine:<mode>:<model>:nrc=<bool>``, else the function's qualified name."""
    args = factory.args if isinstance(factory, functools.partial) else ()
    config = args[0] if args else None
    if config is not None and hasattr(config, "mode"):
        return f"engine:{config.mode}:{config.model_dir or 'default'}:nrc={config.lexicon.use_nrc}"
    func = getattr(factory, "func", factory)
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', type(factory).__name__)}"


def describe(spec: ScorerSpec) -> str:
    """What the summary and the checkpoint call the scorer (a resumed job must use the same)."""
    if isinstance(spec, RestOptions):
        return f"rest:{predictions_url(spec.url)}"
    if isinstance(spec, InProcess):
        return type(spec.scorer).__name__
    return describe_scorer(spec.factory)


def worker_count(spec: ScorerSpec, opts: BatchOptions) -> int:
    """Scoring processes of the job (REST: 1, its concurrency is threads)."""
    if isinstance(spec, RestOptions):
        return 1
    if isinstance(spec, InProcess) and opts.workers > 1:
        raise ConfigError("an engine object runs in this process: pass a factory or engine_config for workers")
    return opts.workers


def score_records(scorer: Scorer, formatter: Formatter, records: Sequence[Record], explain: bool) -> ChunkResult:
    """Score the good records of a chunk with one ``score_batch`` call and format the whole chunk."""
    texts = [r.text for r in records if r.error is None]
    results = scorer.score_batch(texts, explain=explain) if texts else []
    if len(results) != len(texts):
        raise BatchError(f"the scorer returned {len(results)} results for {len(texts)} texts")
    return formatter.format_chunk(records, results)


# -- worker processes ------------------------------------------------------------------------------------


def limit_threads(threads: int) -> None:
    """Thread counts for the numeric libraries of a worker, before its scorer is built."""
    for var in THREAD_ENV:
        os.environ[var] = str(threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def exit_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent) dies, however it dies (SIGKILL included).

    Linux: the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread
    polls the parent pid. A parent that died before this ran is caught by the check at the end."""
    if not _kill_me_with_parent():
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="affectlens-parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:
        os._exit(1)


def _kill_me_with_parent() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # pragma: no cover - no libc / no prctl
        return False


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


_WORKER: dict[str, Any] = {}  # the scorer of this worker process (built once by _init_worker)


def _init_worker(factory: ScorerFactory, threads: int, formatter: Formatter, explain: bool, parent_pid: int) -> None:
    exit_with_parent(parent_pid)
    limit_threads(threads)
    _WORKER.update(scorer=factory(threads), formatter=formatter, explain=explain)


def _worker_score(records: list[Record]) -> ChunkResult:
    return score_records(_WORKER["scorer"], _WORKER["formatter"], records, _WORKER["explain"])


# -- pools -------------------------------------------------------------------------------------------------


class Pending(Protocol):
    def done(self) -> bool: ...
    def result(self) -> ChunkResult: ...


class _Done:
    """A finished result (in-process scoring)."""

    def __init__(self, value: ChunkResult) -> None:
        self.value = value

    def done(self) -> bool:
        return True

    def result(self) -> ChunkResult:
        return self.value


class Pool:
    """Runs ``fn(records)`` for each submitted chunk: inline, or on an executor; ``in_flight`` chunks at most."""

    def __init__(self, fn: Callable[[list[Record]], ChunkResult], in_flight: int = 1, executor: Any = None) -> None:
        self.fn, self.in_flight, self.executor = fn, in_flight, executor

    def submit(self, records: list[Record]) -> Pending:
        if self.executor is None:
            return _Done(self.fn(records))
        return self.executor.submit(self.fn, records)

    def close(self, cancel: bool = False) -> None:
        """Wait for the workers to finish (or, with ``cancel``, drop what has not started and return)."""
        if self.executor is not None:
            self.executor.shutdown(wait=not cancel, cancel_futures=cancel)
            self.executor = None


def open_pool(spec: ScorerSpec, opts: BatchOptions, formatter: Formatter) -> Pool:
    """The pool for ``spec``: REST threads, worker processes (``opts.workers > 1``) or this process."""
    if isinstance(spec, RestOptions):
        from concurrent.futures import ThreadPoolExecutor

        fn = functools.partial(score_records, RestScorer(spec), formatter, explain=opts.explain)
        executor: Any = ThreadPoolExecutor(max_workers=spec.concurrency, thread_name_prefix="affectlens-rest")
        return Pool(fn, opts.max_in_flight or spec.concurrency * IN_FLIGHT_PER_WORKER, executor)
    if isinstance(spec, InProcess) or opts.workers == 1:
        scorer = spec.scorer if isinstance(spec, InProcess) else spec.factory(0)
        return Pool(functools.partial(score_records, scorer, formatter, explain=opts.explain))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, cpu_count() // opts.workers)
    executor = ProcessPoolExecutor(
        max_workers=opts.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
        initargs=(spec.factory, threads, formatter, opts.explain, os.getpid()),
    )  # fmt: skip
    return Pool(_worker_score, opts.max_in_flight or opts.workers * IN_FLIGHT_PER_WORKER, executor)


def ordered_map(
    submit: Callable[[list[Record]], Pending], chunks: Iterable[Chunk], max_in_flight: int
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Submit chunks with at most ``max_in_flight`` unfinished; yield results in input order."""
    pending: deque[tuple[Chunk, Pending]] = deque()
    for chunk in chunks:
        pending.append((chunk, submit(chunk.records)))
        while len(pending) >= max_in_flight or (pending and pending[0][1].done()):
            done_chunk, fut = pending.popleft()
            yield done_chunk, fut.result()
    while pending:
        done_chunk, fut = pending.popleft()
        yield done_chunk, fut.result()
