"""Settings from the environment, read in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.faults.attack_pod import DEFAULT_IMAGE
from bot.gameday.findings.digest import DEFAULT_SLOT, DigestError, DigestSlot, parse_slot
from bot.gameday.incident_channels import IncidentChannels, IncidentChannelsError, parse_incident_channels
from bot.gameday.policy.loading import PolicyError, load_policy_file
from bot.gameday.policy.model import Policy
from bot.gameday.scenario.durations import DurationError, parse_duration
from bot.gameday.scenario.guardrails import DEFAULT_MAX_TTL

SLACK_DEFAULT_API_URL = "https://slack.com/api/"
STARTER_PACK = Path(__file__).resolve().parent / "defaults" / "scenarios"  # the scenarios sce comes with


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """sce's own folder for the user: $XDG_DATA_HOME/sce, else ~/.local/share/sce (XDG Base Directory).

    The same folder whatever the current folder is, so `sce serve`, `sce debrief` and `sce history`
    run from anywhere agree on one database. A relative XDG_DATA_HOME is ignored, as the spec says.
    """
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "sce"


def default_database_url(env: Mapping[str, str] | None = None) -> str:
    """The database when DATABASE_URL is not set: a SQLite file in the data folder."""
    return f"sqlite:///{data_dir(env) / 'sce.db'}"


def demo_folder(env: Mapping[str, str] | None = None) -> Path:
    """Where each `sce demo` records its game day: a database of its own per run, never the one
    `sce serve` uses, so nothing of a demo (an interrupted one included) can reach a real workspace."""
    return data_dir(env) / "demos"


def demo_databases(env: Mapping[str, str] | None = None) -> list[Path]:
    """The demos' databases, newest first."""
    folder = demo_folder(env)
    found = list(folder.glob("*.db")) if folder.is_dir() else []
    return sorted(found, key=lambda path: (path.stat().st_mtime, path.name), reverse=True)


def scenario_folder(env: Mapping[str, str] | None = None) -> Path:
    """The scenarios `sce serve`, `sce list`, `sce demo` and `sce validate` see: SCE_SCENARIOS_DIR, else
    ./scenarios when there is one, else the starter pack that comes with sce (so a demo, or a first
    `sce serve`, runs from any folder)."""
    env = os.environ if env is None else env
    if env.get("SCE_SCENARIOS_DIR"):
        return Path(env["SCE_SCENARIOS_DIR"])
    here = Path("scenarios")
    return here if here.is_dir() else STARTER_PACK


def _set(value: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip())


class SettingError(ValueError):
    """An environment variable that cannot be read; the message names it."""


def _duration(value: str | None, name: str, default: float) -> float:
    if not value:
        return default
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        raise SettingError(f"{name}: {exc}") from None
    if seconds <= 0:
        raise SettingError(f"{name}: {value!r} must be longer than 0s")
    return seconds


def _rate(value: str | None, name: str, default: float) -> float:
    if not value:
        return default
    try:
        rate = float(value)
    except ValueError:
        raise SettingError(f"{name}: {value!r} is not a number") from None
    if not rate > 0 or rate == float("inf"):
        raise SettingError(f"{name}: {value!r} must be a number above 0")
    return rate


def _incident_channels(value: str | None) -> IncidentChannels | None:
    try:
        return parse_incident_channels(value)
    except IncidentChannelsError as exc:
        raise SettingError(str(exc)) from None


def _digest(value: str | None) -> DigestSlot | None:
    try:
        return parse_slot(value)
    except DigestError as exc:
        raise SettingError(str(exc)) from None


def _policy(value: str | None) -> Policy | None:
    """The policy file (SCE_POLICY), read once at start: a broken one stops each command with its sentence."""
    if not value:
        return None
    try:
        return load_policy_file(Path(value))
    except PolicyError as exc:
        raise SettingError(f"SCE_POLICY: {exc}") from None


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    database_url: str = field(default_factory=default_database_url)
    scenarios_dir: Path = Path("scenarios")
    rotations_dir: Path = Path("rotations")
    allowed_namespaces: frozenset[str] = frozenset()
    facilitators: frozenset[str] = frozenset()
    approvers: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    port: int = 3000
    sinkhole_domain: str | None = None
    sinkhole_cidr: str | None = None
    probe_image: str | None = None
    attack_images: frozenset[str] = frozenset()  # SCE_ATTACK_IMAGES as written; see allowed_attack_images
    chaos_mesh: bool = False
    log_format: str = "text"
    pagerduty_routing_key: str | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    pagerduty_api_token: str | None = None
    pagerduty_api_url: str = "https://api.pagerduty.com"
    # real incidents for the game day's own failures (a failed revert, a guardrail); unset: none are paged
    pagerduty_failure_routing_key: str | None = field(default=None, repr=False)
    # POST /hooks/pagerduty checks X-PagerDuty-Signature with it; unset: the route is off (404)
    pagerduty_webhook_secret: str | None = field(default=None, repr=False)
    # SCE_INCIDENT_CHANNELS: a new channel whose name matches halts every game day; None: off
    incident_channels: IncidentChannels | None = None
    alert_webhook_secret: str | None = None
    alerts_channel: str | None = None
    prometheus_url: str | None = None  # the team's Prometheus: steady-state probes (preflight)
    grafana_url: str | None = None  # the team's Grafana: annotations and dashboard links
    grafana_token: str | None = field(default=None, repr=False)  # a service account's; never shown
    loki_url: str | None = None  # the team's Loki: logs steps with source loki (query_range)
    scenario_secrets: frozenset[str] = frozenset()  # variables a scenario may name as ${env:NAME}
    max_ttl: float = DEFAULT_MAX_TTL  # ceiling of every fault ttl and guardrails.max_duration
    public_url: str | None = None  # where people reach `sce serve` (links to hosted debriefs); none: no links
    slack_posts_per_second: float = 1.0  # per channel, after a burst (Slack's own limit; tests raise it)
    slack_timeout: float = 10.0  # seconds one Slack Web API call may take before it counts as failed
    timer_retry_seconds: float = 5.0  # a failed timer's first wait before its next try (then doubling)
    status_interval: float = 2.0  # seconds between two updates of one game day's status message
    status_per_minute: float = 40.0  # status updates a minute in all, for the whole workspace
    reactions_per_minute: float = 50.0  # reactions on notes a minute in all, beyond a burst of 20
    # GET /calendar.ics answers only to this token (Bearer or ?token=); unset: the feed is off (404)
    calendar_token: str | None = field(default=None, repr=False)
    # GET /report (the programme report) answers only to this token, as the feed; unset: off (404)
    report_token: str | None = field(default=None, repr=False)
    # POST /halt answers only to this token (Bearer); unset: the route is off (404)
    halt_token: str | None = field(default=None, repr=False)
    tickets: str | None = None  # SCE_TICKETS: github:<owner>/<repo> or jira:<project>; unset: no tickets
    github_token: str | None = field(default=None, repr=False)  # never shown
    github_api_url: str = "https://api.github.com"
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = field(default=None, repr=False)  # never shown
    # POST /hooks/github and /hooks/jira check their bodies' HMAC with it; unset: both are off (404)
    tickets_webhook_secret: str | None = field(default=None, repr=False)
    digest: DigestSlot | None = DEFAULT_SLOT  # SCE_DIGEST: the weekly digest of overdue findings; None: off
    policy: Policy | None = None  # SCE_POLICY: the policy file's rules (bot/gameday/policy); None: no policy

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        api_url = env.get("SLACK_API_URL") or SLACK_DEFAULT_API_URL
        return cls(
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=env.get("DATABASE_URL") or default_database_url(env),
            scenarios_dir=scenario_folder(env),  # what `sce list` shows is what Slack's /sce list shows
            rotations_dir=Path(env.get("SCE_ROTATIONS_DIR") or "rotations"),
            allowed_namespaces=_set(env.get("SCE_ALLOWED_NAMESPACES")),
            facilitators=_set(env.get("SCE_FACILITATORS")),
            approvers=_set(env.get("SCE_APPROVERS")),
            admins=_set(env.get("SCE_ADMINS")),
            port=int(env.get("PORT") or 3000),
            sinkhole_domain=env.get("SCE_SINKHOLE_DOMAIN") or None,
            sinkhole_cidr=env.get("SCE_SINKHOLE_CIDR") or None,
            probe_image=env.get("SCE_PROBE_IMAGE") or None,
            attack_images=_set(env.get("SCE_ATTACK_IMAGES")),
            chaos_mesh=(env.get("SCE_CHAOS_MESH") or "").lower() in ("1", "true", "yes", "on"),
            log_format=(env.get("SCE_LOG_FORMAT") or "text").lower(),
            pagerduty_routing_key=env.get("PAGERDUTY_ROUTING_KEY") or None,
            pagerduty_events_url=env.get("PAGERDUTY_EVENTS_URL") or "https://events.pagerduty.com/v2/enqueue",
            pagerduty_api_token=env.get("PAGERDUTY_API_TOKEN") or None,
            pagerduty_api_url=env.get("PAGERDUTY_API_URL") or "https://api.pagerduty.com",
            pagerduty_failure_routing_key=env.get("SCE_PAGERDUTY_FAILURE_ROUTING_KEY") or None,
            pagerduty_webhook_secret=env.get("SCE_PAGERDUTY_WEBHOOK_SECRET") or None,
            incident_channels=_incident_channels(env.get("SCE_INCIDENT_CHANNELS")),
            alert_webhook_secret=env.get("SCE_ALERT_WEBHOOK_SECRET") or None,
            alerts_channel=env.get("SCE_ALERTS_CHANNEL") or None,
            prometheus_url=env.get("SCE_PROMETHEUS_URL") or None,
            grafana_url=env.get("SCE_GRAFANA_URL") or None,
            grafana_token=env.get("SCE_GRAFANA_TOKEN") or None,
            loki_url=env.get("SCE_LOKI_URL") or None,
            scenario_secrets=_set(env.get("SCE_SCENARIO_SECRETS")),
            max_ttl=_duration(env.get("SCE_MAX_TTL"), "SCE_MAX_TTL", DEFAULT_MAX_TTL),
            public_url=env.get("SCE_PUBLIC_URL") or None,
            slack_posts_per_second=_rate(
                env.get("SCE_SLACK_POSTS_PER_SECOND"), "SCE_SLACK_POSTS_PER_SECOND", 1.0
            ),
            slack_timeout=_duration(env.get("SCE_SLACK_TIMEOUT"), "SCE_SLACK_TIMEOUT", 10.0),
            timer_retry_seconds=_duration(env.get("SCE_TIMER_RETRY"), "SCE_TIMER_RETRY", 5.0),
            status_interval=_duration(env.get("SCE_STATUS_INTERVAL"), "SCE_STATUS_INTERVAL", 2.0),
            status_per_minute=_rate(
                env.get("SCE_STATUS_UPDATES_PER_MINUTE"), "SCE_STATUS_UPDATES_PER_MINUTE", 40.0
            ),
            reactions_per_minute=_rate(env.get("SCE_REACTIONS_PER_MINUTE"), "SCE_REACTIONS_PER_MINUTE", 50.0),
            calendar_token=env.get("SCE_CALENDAR_TOKEN") or None,
            report_token=env.get("SCE_REPORT_TOKEN") or None,
            halt_token=env.get("SCE_HALT_TOKEN") or None,
            tickets=(env.get("SCE_TICKETS") or "").strip() or None,
            github_token=env.get("GITHUB_TOKEN") or None,
            github_api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            jira_url=env.get("JIRA_URL") or None,
            jira_email=env.get("JIRA_EMAIL") or None,
            jira_api_token=env.get("JIRA_API_TOKEN") or None,
            tickets_webhook_secret=env.get("SCE_TICKETS_WEBHOOK_SECRET") or None,
            digest=_digest(env.get("SCE_DIGEST")),
            policy=_policy(env.get("SCE_POLICY")),
        )

    @property
    def allowed_attack_images(self) -> frozenset[str]:
        """The images an attack pod may run: SCE_ATTACK_IMAGES, else the default and SCE_PROBE_IMAGE."""
        if self.attack_images:
            return self.attack_images
        return frozenset({DEFAULT_IMAGE, *([self.probe_image] if self.probe_image else [])})

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def missing_for_slack(self) -> list[str]:
        """The variables `sce serve` cannot run without, by name."""
        missing = [] if self.slack_bot_token else ["SLACK_BOT_TOKEN"]
        if self.socket_mode:
            return missing
        return missing + ([] if self.slack_signing_secret else ["SLACK_SIGNING_SECRET"])
