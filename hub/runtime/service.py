"""The consume -> open -> handle -> seal -> publish -> commit loop every service runs.

Guarantees: offsets are committed only after a message's outputs are acknowledged by the broker;
output message ids are derived from the input's, so a redelivery after a crash reproduces the
same ids and downstream replay protection drops the duplicates; poison input goes to quarantine
with a reason; transient broker errors are retried with backoff; SIGTERM finishes the current
message, commits and closes within a bounded time even when the broker is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import structlog
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError

from hub.codec_parts import Shared
from hub.envelope import Opened, Opener, Sealer
from hub.errors import (
    AlreadyProcessed,
    MessageRejected,
    Redelivered,
    RejectReason,
    Resent,
    StoreUnavailable,
)
from hub.ids import name_id
from hub.keys import KeyRing
from hub.keys.refresh import KeyRefresher
from hub.quarantine import Inbox
from hub.replay import DurableSeenMessages
from hub.runtime.health import HealthServer
from hub.runtime.keywatch import KeyWatch
from hub.runtime.metrics import ServiceMetrics
from hub.runtime.settings import ServiceSettings
from hub.topology import Topology
from hub.transport.base import Consumed
from hub.transport.kafka import KafkaPublisher, KafkaSubscription

log = structlog.get_logger(__name__)
OUTPUT_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680001")
T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    """One message a handler wants sent: logical topic, type, record and recipients."""

    topic: str
    schema_name: str
    record: dict[str, object]
    recipients: tuple[str, ...]
    correlation_id: str
    key: str | None = None


Sealed = tuple[str, bytes, bytes]  # topic, sealed bytes, key
Position = tuple[str, int, int]  # topic, partition, offset
OUTAGE_FIRST_WAIT_S = 0.5  # after a database outage, before trying again (then doubling)
# As for the broker: once the database is back, a Level 3 referral waits at most this long.
OUTAGE_MAX_WAIT_S = 5.0
URGENT_TOPICS = frozenset({"mash.notifications"})
LOOK_S = 0.01  # how often a long batch looks for priority input that arrived meanwhile
# Event-loop turns given to the consumer's fetcher and the producer's sender after each
# message: a fetch response needs several turns (socket, protocol, fetch result, buffer), and
# with one turn per message each waited for a whole message to be handled (a new referral
# took 80-90 ms to reach the lane at 50/s; 35-55 ms with 5 turns). A turn costs ~6 us idle.
YIELDS_PER_MESSAGE = 10
# A run of equally urgent lane messages (a burst of Level 3 referrals) may be flushed together
# for at most MASH_URGENT_RUN_MS, one durable commit instead of one per notification. Off by
# default: it saved CPU in bursts but raised the Level 3 p99 (A/B in docs/scaling.md).
URGENT_RUN_S = 0.0


@dataclass
class Batch:
    """What one consumed batch has produced so far, sent and recorded together."""

    sealed: list[Sealed] = field(default_factory=list)
    opened: list[Opened] = field(default_factory=list)
    # every message id of the consumed batch, and its envelope's digest
    ids: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    urgent: bool = False  # holds a Level 3 notification: send now, never wait for the batch


@dataclass
class Progress:
    """How far one consumed batch got, so that after a database outage what was sent is kept
    and the rest is fetched again."""

    consumed: list[Consumed]  # the batch, and urgent input that joined it
    done: list[Consumed] = field(default_factory=list)  # handled, in order
    sent: int = 0  # how many of ``done`` had their outputs flushed and sent
    opened: list[Opened] = field(default_factory=list)  # the opened messages among them

    def flushed(self, work: Batch) -> None:
        """Everything handled so far is flushed: ``work``'s outputs are on their way."""
        self.sent = len(self.done)
        self.opened += work.opened


class Handler(Protocol):
    """What a service supplies: its identity, its inputs and its business logic."""

    name: str
    principal: str
    accepts: dict[str, set[str]]  # logical topic -> schema names accepted on it

    async def handle(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """Outputs for one opened message (raise MessageRejected for invalid content)."""

    async def tick(self, now: datetime) -> list[Outgoing]:
        """Outputs due to time passing (deadlines, chasers); called after every poll."""

    async def drain(self, now: datetime) -> list[Outgoing]:
        """Last outputs before shutdown (e.g. a final log checkpoint)."""

    def ready(self) -> tuple[bool, str]:
        """Whether the handler's own dependencies (e.g. its source database) are usable."""

    def close(self) -> None:
        """Release the handler's resources."""


def split_lane(
    batch: Sequence[Consumed], first: Collection[str]
) -> tuple[list[Consumed], list[Consumed]]:
    """(messages of the ``first`` topics, the rest), each in batch order: every partition
    keeps its order, since a partition belongs to one topic."""
    return [m for m in batch if m.topic in first], [m for m in batch if m.topic not in first]


def urgent_first(
    messages: Sequence[Consumed], urgency: Callable[[Consumed], int]
) -> list[Consumed]:
    """``messages`` with the most urgent first (lowest ``urgency``). Messages with the same key
    on the same partition (one referral's story) move together and keep their order: a group
    is as urgent as its most urgent message, and groups of equal urgency keep their order."""
    groups: dict[tuple[str, int, bytes | None], list[Consumed]] = {}
    for message in messages:
        groups.setdefault((message.topic, message.partition, message.key), []).append(message)
    ranked = sorted(groups.values(), key=lambda group: min(urgency(m) for m in group))
    return [message for group in ranked for message in group]


def flush_due(
    work: Batch,
    now: float,
    flush_s: float,
    rank: int | None,
    next_rank: int | None,
    run_s: float = URGENT_RUN_S,
) -> bool:
    """Whether the outputs gathered so far go now: every ``flush_s``, and at once after a
    Level 3 notification, unless the next lane message is as urgent (``next_rank`` no higher
    than this message's ``rank``) and the run is younger than ``run_s``: then the run's
    notifications go together, each at most ``run_s`` and one message later."""
    age = now - work.started
    if age >= flush_s:
        return True
    if not work.urgent:
        return False
    same_run = rank is not None and next_rank is not None and next_rank <= rank
    return not (same_run and age < run_s)


def committable(done: Iterable[Consumed], left: Iterable[Consumed]) -> list[Consumed]:
    """The handled messages whose offsets may be committed: on each partition, those before
    the first message not yet handled (the lane may handle a partition out of offset order,
    and a stop mid-batch must not commit past a message it never handled)."""
    first_left: dict[tuple[str, int], int] = {}
    for m in left:
        where = (m.topic, m.partition)
        first_left[where] = min(first_left.get(where, m.offset), m.offset)
    return [m for m in done if m.offset < first_left.get((m.topic, m.partition), m.offset + 1)]


def _position(message: Consumed) -> Position:
    return (message.topic, message.partition, message.offset)


def output_id(origin: str, index: int) -> str:
    """Deterministic id of the index-th output caused by message ``origin``."""
    return name_id(OUTPUT_IDS, f"{origin}:{index}")


class ServiceRunner:
    """Runs one handler against the broker until stopped."""

    def __init__(
        self,
        settings: ServiceSettings,
        handler: Handler,
        ring: KeyRing,
        topology: Topology,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        handler_attempts: int = 3,
        keys: KeyRefresher | None = None,
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.ring = ring
        self.topology = topology
        self.clock = clock
        self.handler_attempts = handler_attempts
        self.metrics = ServiceMetrics(handler.name)
        bind = getattr(handler, "bind_metrics", None)
        if bind is not None:
            bind(self.metrics.registry)  # service-specific metrics, e.g. the collator's SLA
        self.stopping = asyncio.Event()
        self.started = asyncio.Event()
        self.health = HealthServer(self.metrics, self._ready, settings.liveness_stall_s)
        self._keys = None if keys is None else KeyWatch(keys, self.metrics, settings.keys_refresh_s)
        self._logical = {topology.topic(t): t for t in handler.accepts}
        self.sealer = Sealer(ring, clock=clock)
        self.processed = 0
        self._outage_reason: str | None = None  # a database failed; cleared by a good batch
        self._outage_delay = OUTAGE_FIRST_WAIT_S
        self._flush_handler = getattr(handler, "flush", None)
        if self._flush_handler is not None:
            handler.group_commit = True  # type: ignore[attr-defined]
        # Input that must never wait behind a backlog (new referrals: a Level 3 notification
        # is due at once), taken first in every batch and in between long batches.
        self._priority = frozenset(
            topology.topic(t) for t in getattr(handler, "priority", ()) if t in handler.accepts
        )
        # Within the lane, what is most urgent (e.g. a Level 3 referral) goes first; lane
        # messages are opened on arrival to know it (handler.urgency: lower is sooner).
        self._urgency: Callable[[Opened], int] | None = getattr(handler, "urgency", None)

    def _ready(self) -> tuple[bool, str]:
        if not self.started.is_set():
            return False, "starting"
        if self.stopping.is_set():
            return False, "stopping"
        if self._outage_reason is not None:
            return False, self._outage_reason
        if self._keys is not None and self._keys.problem is not None:
            return False, self._keys.problem
        return self.handler.ready()

    def request_stop(self) -> None:
        """Ask the loop to finish the current message, commit and exit (SIGTERM does this)."""
        self.stopping.set()

    async def _retry(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Retry transient broker failures with exponential backoff until success or stop."""
        delay = 0.1
        while True:
            try:
                return await action()
            except KafkaError as exc:
                self.metrics.retries.inc()
                log.warning(
                    "transient_failure", action=what, error=type(exc).__name__, retry_in_s=delay
                )
                if self.stopping.is_set():
                    raise
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                delay = min(delay * 2, 5.0)

    def _seal(self, outputs: Sequence[Outgoing], origin: str) -> list[Sealed]:
        """Each output sealed to its recipients, with an id derived from its cause (values
        the outputs share, such as a referral's subjects, are encoded once)."""
        sealed, shared = [], Shared()
        for index, out in enumerate(outputs):
            topic = self.topology.topic(out.topic)
            data, _ = self.sealer.seal(
                topic=topic,
                schema_name=out.schema_name,
                record=dict(out.record),
                recipients=out.recipients,
                correlation_id=out.correlation_id,
                message_id=output_id(origin, index),
                shared=shared,
            )
            sealed.append((topic, data, (out.key or out.correlation_id).encode()))
        return sealed

    async def _send(self, publisher: KafkaPublisher, sealed: list[Sealed]) -> None:
        """Send together and wait for every acknowledgement (a retry resends them all with
        the same message ids; downstream replay protection drops copies that had arrived)."""
        if not sealed:
            return
        await self._retry("publish", lambda: publisher.publish_all(sealed))
        for topic, _, _ in sealed:
            self.metrics.messages_out(topic).inc()

    async def _flush(
        self,
        inbox: Inbox,
        publisher: KafkaPublisher,
        work: Batch,
        inflight: list[asyncio.Task[None]],
    ) -> None:
        """Make the handler's own durable records (the firewall's log) durable, then send the
        outputs gathered so far in one round trip without waiting for it: the next messages
        are handled while the broker acknowledges (``inflight`` is awaited, and the messages
        recorded as processed, before offsets are committed); a Level 3 notification is
        flushed on its own at once."""
        if self._flush_handler is not None:
            self._flush_handler()
        if work.sealed:
            inflight.append(asyncio.create_task(self._send(publisher, work.sealed)))
        await asyncio.sleep(0)  # the producer's sender and the consumer's fetcher run now

    async def _publish(
        self, publisher: KafkaPublisher, outputs: Sequence[Outgoing], origin: str
    ) -> None:
        """Seal and send outputs not caused by a consumed message (ticks, drain)."""
        await self._send(publisher, self._seal(outputs, origin))

    async def _handle(self, inbox: Inbox, opened: Opened, message: Consumed) -> list[Outgoing]:
        """The handler's outputs; repeated failure becomes a quarantine (never a crash loop)."""
        for attempt in range(1, self.handler_attempts + 1):
            try:
                return await self.handler.handle(opened, message)
            except (MessageRejected, StoreUnavailable):  # the database's fault: redone later
                raise
            except Exception as exc:  # a bug or a poison message: retry, then quarantine
                log.error(
                    "handler_failed",
                    attempt=attempt,
                    error=type(exc).__name__,
                    message_id=opened.header.message_id,
                )
                if attempt == self.handler_attempts:
                    raise MessageRejected(
                        RejectReason.INVALID_CONTENT,
                        f"handler failed {attempt} times: {type(exc).__name__}",
                    ) from exc
                await asyncio.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    async def _open(self, inbox: Inbox, message: Consumed) -> Opened | None:
        """The opened message, or None once it is quarantined, or skipped as processed
        already: a redelivery of the same record (this service stopped or lost the partition
        after recording it processed and before committing its offset) or the sender's
        re-sending of it (the sender redid its work after a restart)."""
        expect = self.handler.accepts.get(self._logical.get(message.topic, ""), set())
        try:
            opened = await self._retry("quarantine", lambda: inbox.receive(message, expect))
        except AlreadyProcessed as done:
            self._skipped(done, message)
            return None
        if opened is None:
            self.metrics.errors("rejected").inc()
        return opened

    def _skipped(self, done: AlreadyProcessed, message: Consumed) -> None:
        """Count and log a message skipped as processed already (no personal data)."""
        again = isinstance(done, Redelivered)
        (self.metrics.redelivered if again else self.metrics.resent).inc()
        log.info(
            "redelivery_skipped" if again else "resend_skipped",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )

    async def _process(
        self,
        inbox: Inbox,
        message: Consumed,
        batch: Batch,
        early: dict[Position, Opened | None] | None = None,
    ) -> None:
        """Open (unless the lane opened it already: ``early``), handle and seal one message
        into ``batch`` (sent when the batch is done); anything rejected is quarantined at
        once."""
        began = time.perf_counter()
        self.metrics.messages_in(message.topic).inc()
        where = _position(message)
        if early is not None and where in early:
            opened = early.pop(where)
        else:
            opened = await self._open(inbox, message)
        if opened is None:  # quarantined, or skipped as processed already
            return
        first = batch.ids.get(opened.header.message_id)
        if first and opened.digest and first != opened.digest:  # the sender sealed it again
            self._skipped(Resent(opened.header.message_id, opened.position), message)
            return
        structlog.contextvars.bind_contextvars(correlation_id=opened.header.correlation_id)
        try:
            if first is not None:  # the same envelope twice in one batch
                raise MessageRejected(RejectReason.REPLAY, "message already in this batch")
            outputs = await self._handle(inbox, opened, message)
        except MessageRejected as exc:
            rejected = exc
            self.metrics.errors(rejected.reason.value).inc()
            await self._retry("quarantine", lambda: inbox.quarantine(message, rejected))
            if rejected.reason is not RejectReason.REPLAY:
                inbox.processed(opened)
            return
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
        batch.sealed += self._seal(outputs, opened.header.message_id)
        batch.urgent |= any(out.topic in URGENT_TOPICS for out in outputs)
        batch.opened.append(opened)
        batch.ids[opened.header.message_id] = opened.digest
        self.processed += 1
        self.metrics.latency.observe(time.perf_counter() - began)

    async def run(self) -> None:
        """Serve until request_stop() or SIGTERM/SIGINT."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        kafka = self.settings.kafka
        assert kafka is not None, "resolve Kafka settings before running"
        seen = DurableSeenMessages(self.settings.state_store(self.handler.name, "seen.db"))
        publisher = KafkaPublisher(kafka)
        group = self.topology.group_prefix(self.handler.principal) + self.handler.name
        # Range assignment co-partitions the inputs: partition i of every input topic goes to
        # the same instance, and every message about a referral is keyed by it, so one
        # instance sees a referral's whole story (referral, responses, chasers, decisions).
        subscription = KafkaSubscription(
            kafka,
            list(self._logical),
            group,
            max_poll_interval_ms=600_000,
            fetch_max_wait_ms=self.settings.fetch_wait_ms,
            partition_assignment_strategy=(RangePartitionAssignor,),
        )
        opener = Opener(self.ring, seen, clock=self.clock)
        if self._keys is not None:  # a message naming a key not read yet: look at once
            opener.refresh = self._keys.refresher.on_miss
        inbox = Inbox(
            service=self.handler.name,
            opener=opener,
            sealer=self.sealer,
            publisher=publisher,
            quarantine_topic=self.topology.topic("mash.quarantine"),
            clock=self.clock,
        )
        await self.health.start(self.settings.health_host, self.settings.health_port)
        try:
            await self._retry("connect", publisher.start)
            await self._retry("subscribe", subscription.start)
            if hasattr(self.handler, "owns"):  # time-driven work: one instance per referral
                self.handler.owns = lambda key: subscription.owns(key.encode())
            self.started.set()
            log.info(
                "service_started",
                service=self.handler.name,
                health_port=self.health.port,
                topics=sorted(self._logical),
                kafka=f"{kafka.security_protocol} {kafka.bootstrap_servers}",
            )
            await self._loop(inbox, publisher, subscription)
            try:
                final = await self.handler.drain(self.clock())
            except StoreUnavailable as exc:  # e.g. no final checkpoint: the next run makes it
                log.warning("drain_skipped", service=self.handler.name, error=str(exc))
                final = []
            if final:
                with contextlib.suppress(KafkaError):
                    await asyncio.wait_for(
                        self._publish(publisher, final, f"drain:{uuid.uuid4()}"),
                        self.settings.shutdown_timeout_s,
                    )
        finally:
            await self._shutdown(publisher, subscription)
            seen.close()
            self.handler.close()
            await self.health.stop()

    async def _loop(
        self, inbox: Inbox, publisher: KafkaPublisher, subscription: KafkaSubscription
    ) -> None:
        batches = subscription.batches(self.settings.poll_timeout_ms, self.settings.max_batch)
        while not self.stopping.is_set():
            try:
                batch = await batches.__anext__()
            except KafkaError as exc:
                log.warning("poll_failed", error=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            self.metrics.last_poll.set(time.time())
            if self._keys is not None:
                await self._keys.check(self.stopping)  # held while own keys are unusable
            progress = Progress(list(batch))
            try:
                await self._batch(inbox, publisher, subscription, progress)
                progress = Progress([])  # committed: nothing of it to redo
                await self._tick(publisher)
            except StoreUnavailable as exc:
                await self._outage(exc, inbox, subscription, progress)
                continue
            if self._outage_reason is not None:
                log.info("store_recovered", service=self.handler.name)
                self._outage_reason, self._outage_delay = None, OUTAGE_FIRST_WAIT_S
                self.metrics.store_unavailable.set(0)

    async def _batch(
        self,
        inbox: Inbox,
        publisher: KafkaPublisher,
        subscription: KafkaSubscription,
        progress: Progress,
    ) -> None:
        """Handle one consumed batch (and urgent input arriving meanwhile), flushing as due,
        then record it processed and commit its offsets; ``progress`` says how far it got."""
        work, inflight, done = Batch(), list[asyncio.Task[None]](), progress.done
        # The lane (priority topics) is handled before the rest of the batch.
        first, others = split_lane(progress.consumed, self._priority)
        rest = deque(others)
        early: dict[Position, Opened | None] = {}  # lane messages opened on arrival
        ranks: dict[Position, int] = {}  # and their urgency
        lane = await self._arrange(deque(), first, inbox, early, ranks)
        looked = time.perf_counter()
        try:
            while (lane or rest) and not self.stopping.is_set():
                message = lane.popleft() if lane else rest.popleft()
                await self._process(inbox, message, work, early)
                done.append(message)
                if flush_due(
                    work,
                    time.perf_counter(),
                    self.settings.flush_ms / 1000,
                    ranks.get(_position(message)),
                    ranks.get(_position(lane[0])) if lane else None,
                    self.settings.urgent_run_ms / 1000,
                ):
                    await self._flush(inbox, publisher, work, inflight)  # latency bounded
                    progress.flushed(work)
                    work = Batch(ids=work.ids)  # a repeat later in the batch is a replay
                for _ in range(YIELDS_PER_MESSAGE):  # the fetcher and sender move on
                    await asyncio.sleep(0)
                if self._priority and (lane or rest) and time.perf_counter() - looked >= LOOK_S:
                    arrived = await subscription.fetched_now(self._priority)
                    if arrived:  # priority input that arrived meanwhile joins the lane
                        progress.consumed += arrived
                        lane = await self._arrange(lane, arrived, inbox, early, ranks)
                    looked = time.perf_counter()
            await self._flush(inbox, publisher, work, inflight)
            progress.flushed(work)
        finally:
            await asyncio.gather(*inflight)  # every output acknowledged before offsets
        inbox.processed_all(progress.opened)  # one durable write for the whole batch
        ready = committable(done, [*lane, *rest])  # a stop mid-batch: the rest comes again
        if ready:
            await self._retry("commit", lambda: subscription.commit(ready))
        for tp, behind in subscription.lag().items():
            self.metrics.lag(tp[0], str(tp[1])).set(behind)

    async def _tick(self, publisher: KafkaPublisher) -> None:
        """Outputs due to time passing, sealed and sent (an adapter then marks them raised)."""
        due = await self.handler.tick(self.clock())
        if due:
            await self._publish(publisher, due, f"tick:{uuid.uuid4()}")
            acknowledged = getattr(self.handler, "published", None)
            if acknowledged is not None:
                acknowledged(due)  # e.g. an adapter marks its concerns raised

    async def _outage(
        self,
        exc: StoreUnavailable,
        inbox: Inbox,
        subscription: KafkaSubscription,
        progress: Progress,
    ) -> None:
        """A database failed mid-batch: undo the writes not yet committed (their outputs were
        never sent), keep what was flushed and sent, fetch the rest again, and wait (doubling
        up to OUTAGE_MAX_WAIT_S, not ready meanwhile) before trying again."""
        rollback = getattr(self.handler, "rollback", None)
        if rollback is not None:
            rollback()
        sent = progress.done[: progress.sent]
        sent_at = {_position(m) for m in sent}
        kept = committable(sent, [m for m in progress.consumed if _position(m) not in sent_at])
        if kept:
            with contextlib.suppress(StoreUnavailable):  # else a replay of them is redone
                inbox.processed_all(progress.opened)
            with contextlib.suppress(KafkaError):  # else they come again, redone idempotently
                await subscription.commit(kept)
        kept_at = {_position(m) for m in kept}
        redo = [m for m in progress.consumed if _position(m) not in kept_at]
        subscription.rewind(redo)
        self.metrics.retries.inc()
        self.metrics.store_unavailable.set(1)
        self._outage_reason = str(exc)
        log.warning(
            "store_unavailable",
            service=self.handler.name,
            error=str(exc),
            redo=len(redo),
            retry_in_s=self._outage_delay,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self._outage_delay)
        self._outage_delay = min(self._outage_delay * 2, OUTAGE_MAX_WAIT_S)

    async def _arrange(
        self,
        lane: deque[Consumed],
        arrived: list[Consumed],
        inbox: Inbox,
        early: dict[Position, Opened | None],
        ranks: dict[Position, int],
    ) -> deque[Consumed]:
        """The lane with priority input that ``arrived`` since the batch began: after the
        lane's messages, unless the handler ranks one of them as more urgent (e.g. a Level 3
        referral); then the lane is re-ordered most urgent first, each referral's own
        messages keeping their order. Lane messages are opened on arrival to be ranked."""
        if self._urgency is None:
            lane.extend(arrived)
            return lane
        # The lane is in urgency order, so its last message is the least urgent.
        tail = ranks[_position(lane[-1])] if lane else None
        for message in arrived:
            where = _position(message)
            if where not in early:
                early[where] = await self._open(inbox, message)
                await asyncio.sleep(0)  # a long lane is opened without stalling I/O
            ranks[where] = self._rank(early[where])
        if tail is not None and all(ranks[_position(m)] >= tail for m in arrived):
            lane.extend(arrived)  # nothing more urgent than what is queued: keep the order
            return lane
        return deque(urgent_first([*lane, *arrived], lambda m: ranks[_position(m)]))

    def _rank(self, opened: Opened | None) -> int:
        """The handler's urgency of an opened message (quarantined ones last)."""
        if opened is None or self._urgency is None:
            return 1 << 30
        try:
            return self._urgency(opened)
        except Exception:  # a record the handler will reject anyway: no urgency
            return 1 << 30

    async def _shutdown(self, publisher: KafkaPublisher, subscription: KafkaSubscription) -> None:
        """Close producer and consumer, bounded even when the broker is unreachable."""
        timeout = self.settings.shutdown_timeout_s
        for name, closer in (("consumer", subscription.stop), ("producer", publisher.stop)):
            try:
                await asyncio.wait_for(closer(), timeout)
            except (TimeoutError, KafkaError) as exc:
                log.warning("close_timed_out", part=name, error=type(exc).__name__)
        log.info("service_stopped", service=self.handler.name, processed=self.processed)
