"""Notifications (通知): what waits for whom. New pending requests for reviewers, open feedback
tickets for the owning bureau's accounts (only theirs), authorizations expiring within 30 days
and pending admissions for admins, pending demands for the scenario review (lab, reviewer).

Each notice names ids and counts, never a value of a row. The console lists a viewer's notices;
`ops/notifications.py` posts each notice once to the alert webhook, deduplicated here through
the alerts table (one row per notice key)."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ycpipelines.registry.identity import ADMIN, LAB, REVIEWER
from ycpipelines.registry.models import Alert

EXPIRY_NOTICE = timedelta(days=30)
KEYS_PER_QUERY = 500  # alert keys looked up per statement
NOTICE = "notice"  # the alerts table's kind of a posted notification


@dataclass(frozen=True)
class Notice:
    """One notification: what it is about (`request/3`), who it is for (roles, any of them),
    what it says, and the console page that acts on it."""

    subject: str
    audience: tuple[str, ...]
    text: str
    link: str


class NotificationsMixin:
    """Notifications computed from the registry (mixed into `Registry`)."""

    def notices(self, today: date) -> list[Notice]:
        """Every notice that waits now, for every audience."""
        found = [
            Notice(
                f"request/{r.id}",
                (REVIEWER,),
                f"出域申请 #{r.id} 待审核（场景 {r.scenario}，{r.row_count} 行）",
                f"/desk/{r.id}",
            )
            for r in self.requests("pending")
        ]
        found += [
            Notice(
                f"ticket/{t.id}",
                (f"bureau:{t.bureau}",),
                f"问题数据反馈单 #{t.id}：{t.dataset} {t.day}，{t.count} 行待处理",
                "/",
            )
            for t in self.tickets(status="open")
        ]
        found += [
            Notice(
                f"authorization/{a.id}",
                (ADMIN,),
                f"授权 #{a.id}（{a.consumer} · {a.scenario}）将于 {a.valid_to} 到期",
                "/admin/authorizations",
            )
            for a in self.authorizations()
            if a.status == "active" and today <= a.valid_to <= today + EXPIRY_NOTICE
        ]
        found += [
            Notice(f"admission/{a.id}", (ADMIN,), f"准入申请 #{a.id} 待审批", "/admission")
            for a in self.admissions("pending")
        ]
        found += [
            Notice(
                f"demand/{d.id}",
                (LAB, REVIEWER),
                f"需求 #{d.id}（场景 {d.scenario}）待应用场景评审",
                "/demands",
            )
            for d in self.demands("pending")
        ]
        return found

    def notices_for(self, actor: str, today: date) -> list[Notice]:
        """The notices for an account's verified roles: a bureau sees only its own tickets."""
        roles = self.verified_roles(actor)
        return [n for n in self.notices(today) if roles & set(n.audience)]

    def raised_notices(self, notices: list[Notice]) -> dict[str, Alert]:
        """The alert rows of those notices raised already, by subject: read together, not one
        transaction per notice on every pass."""
        keys = [f"{NOTICE}:{n.subject}" for n in notices]
        found: dict[str, Alert] = {}
        with Session(self.engine) as session:
            for at in range(0, len(keys), KEYS_PER_QUERY):
                chunk = keys[at : at + KEYS_PER_QUERY]
                found |= {
                    a.subject: a for a in session.scalars(select(Alert).where(Alert.key.in_(chunk)))
                }
        return found

    def raise_notice(self, notice: Notice) -> tuple[Alert, bool]:
        """The notice's one alert row (created once per subject, audited), and whether it was
        created now; the webhook is posted by its caller."""
        detail = {"audience": list(notice.audience), "link": notice.link}
        return self.raise_alert(NOTICE, notice.subject, None, notice.text, detail)
