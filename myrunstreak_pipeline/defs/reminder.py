"""The evening "not yet today" reminder: the ``streak_reminder`` sensor and the ``streak_reminder_job``.

From ``MYRUNSTREAK_REMIND_AT`` (default 19:00) in the runner's zone (``MYRUNSTREAK_TIMEZONE``, else the rule's
stored zone, else the machine's), while the streak is at risk (yesterday counted, today not yet), each tick asks
SmashRun once (``fromDateUTC`` = local midnight: one request) for today's runs the database does not hold yet.
If today still does not qualify under the stored rule, it requests ONE run per local day (run key
``reminder:<YYYY-MM-DD>``, the date also kept in the cursor) whose op posts the message to
``MYRUNSTREAK_NOTIFY_URL``. Never before REMIND_AT, never for a broken streak, off without a URL.

The body is one JSON object, ``{"text": m, "content": m, "message": m}``: Slack incoming webhooks read ``text``,
Discord webhooks ``content``, ntfy ``message``. For ntfy give ``https://ntfy.sh/<topic>`` or, for any ntfy
server, its root URL with the topic as fragment (``https://ntfy.example.com/#<topic>``): the JSON then goes to
the root with ``"topic"`` (``analytics/notify.py``). The URL is a secret: it reaches the op as an ``EnvVar``
reference, and logs and errors name only its host.
"""

import datetime as dt
import json

import dagster as dg

from myrunstreak_pipeline.analytics.notify import post_notification, webhook_host
from myrunstreak_pipeline.analytics.reminder import (
    is_due,
    local_midnight_epoch,
    local_now,
    pending_runs,
    reminder_message,
    runner_zone,
    today_status,
)
from myrunstreak_pipeline.analytics.rule import get_streak_rule
from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import Settings

REMINDER_INTERVAL_SECONDS = 900  # one SmashRun request per tick, only from REMIND_AT while at risk: <= 4/hour
REMINDER_DAY_TAG = "myrunstreak/reminder_day"


def utc_now() -> dt.datetime:
    """The sensor's clock (tests freeze it here)."""
    return dt.datetime.now(dt.UTC)


class NotifierResource(dg.ConfigurableResource):
    """Where reminders go. ``url`` is bound as ``dg.EnvVar("MYRUNSTREAK_NOTIFY_URL")``: Dagster stores the name."""

    url: str | None = None

    def __repr__(self) -> str:  # never show the webhook's token: the variable's name, or the URL's host
        if isinstance(self.url, dg.EnvVar) or not self.url:
            return f"NotifierResource(url={self.url!r})"
        return f"NotifierResource(host={webhook_host(self.url)!r})"

    __str__ = __repr__

    @classmethod
    def from_settings(cls, settings: Settings) -> "NotifierResource":
        if settings.notify_url is None:
            return cls()
        return cls(url=dg.EnvVar(Settings.model_fields["notify_url"].validation_alias))


class ReminderConfig(dg.Config):
    day: str
    message: str


@dg.op(description="Posts the reminder to MYRUNSTREAK_NOTIFY_URL (Slack, Discord or ntfy JSON).")
def post_reminder(context: dg.OpExecutionContext, config: ReminderConfig, notifier: NotifierResource):
    if not notifier.url:
        raise dg.Failure(description="MYRUNSTREAK_NOTIFY_URL is not set: nowhere to post the reminder")
    try:
        host = post_notification(notifier.url, config.message)
    except MyRunStreakError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(f"reminder for {config.day} posted to {host}: {config.message}")


def build_reminder_job(settings: Settings) -> dg.JobDefinition:
    # The notifier is bound here, not in Definitions: a sensor whose job needs resources attached there is
    # rebuilt by Dagster, which warns (BetaWarning about `owners`) on every command's stderr.
    @dg.job(
        name="streak_reminder_job",
        executor_def=dg.in_process_executor,
        resource_defs={"notifier": NotifierResource.from_settings(settings)},
        description='Posts one "not yet today" reminder (requested by the streak_reminder sensor).',
    )
    def streak_reminder_job():
        post_reminder()

    return streak_reminder_job


def build_reminder_sensor(job, settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="streak_reminder",
        job=job,
        minimum_interval_seconds=REMINDER_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING if settings.notify_url else dg.DefaultSensorStatus.STOPPED,
        description='From MYRUNSTREAK_REMIND_AT (local time): one "not yet today" reminder a day to '
        "MYRUNSTREAK_NOTIFY_URL while the streak is at risk (one SmashRun request per tick).",
    )
    def streak_reminder(context: dg.SensorEvaluationContext, smashrun: SmashRunResource, storage: DuckDBStorage):
        if not settings.notify_url:
            return dg.SkipReason("MYRUNSTREAK_NOTIFY_URL is not set: reminders are off")
        try:
            return _evaluate(context, smashrun, storage, settings)
        except MyRunStreakError as error:  # database busy, SmashRun unreachable: the next tick tries again
            return dg.SkipReason(f"cannot check today yet: {error}")

    return streak_reminder


def _evaluate(context: dg.SensorEvaluationContext, smashrun: SmashRunResource, storage: DuckDBStorage, settings):
    stored_zone = None
    if not settings.timezone:  # the zone stored with the rule (else the machine's); with the setting: no read
        with storage.reader() as db:
            stored_zone = get_streak_rule(db.connection).time_zone
    zone = runner_zone(settings.timezone, stored_zone)
    local = local_now(utc_now(), zone)
    day = local.date()
    if (json.loads(context.cursor) if context.cursor else {}).get("reminded") == day.isoformat():
        return dg.SkipReason(f"already reminded on {day}")
    if not is_due(local, settings.remind_hour_minute):
        return dg.SkipReason(f"not before {settings.remind_at} ({zone}; now {local:%H:%M})")
    with storage.reader() as db:
        rule = get_streak_rule(db.connection)
        stored = today_status(db.connection, day, rule.min_km, rule.mode)
    if stored.status == "active":
        return dg.SkipReason(f"{day} already counts ({stored.today_km:.2f} km)")
    if stored.status == "broken":
        return dg.SkipReason("the streak is broken: nothing to save today")
    with smashrun.client() as client:  # one request: what changed since local midnight
        listed = client.list_updated_since(local_midnight_epoch(day, zone))
    pending = pending_runs(listed.activities, day, rule.day_policy, rule.time_zone or zone)
    with storage.reader() as db:
        status = today_status(db.connection, day, rule.min_km, rule.mode, pending)
    if status.qualifies:
        return dg.SkipReason(f"{day} already qualifies in SmashRun ({status.today_km:.2f} km; not synced yet)")
    if not status.remind:
        return dg.SkipReason(f"nothing to remind: the streak is {status.status}")
    message = reminder_message(status)
    context.log.info(message)
    request = dg.RunRequest(
        run_key=f"reminder:{day.isoformat()}",
        run_config={"ops": {"post_reminder": {"config": {"day": day.isoformat(), "message": message}}}},
        tags={REMINDER_DAY_TAG: day.isoformat()},
    )
    return dg.SensorResult(run_requests=[request], cursor=json.dumps({"reminded": day.isoformat()}))
