"""The App Home: each person's unread and assigned cases, and the open ones."""

from __future__ import annotations

from bridge.domain.records import CaseFilter, CaseRecord
from bridge.domain.rules import ChatRules, Inbox
from bridge.domain.values import UserId
from bridge.domain.views import CaseLine, CaseList, HomeView
from bridge.domain.work import PublishHome
from bridge.routing.ports import Unit
from bridge.routing.threads import contact_address

HOME_LIST_SIZE = 10


async def request_home(
    unit: Unit, user: str, *, refusal: str | None = None, admin: bool = False
) -> None:
    """Queue a fresh App Home for `user`; one waiting refresh covers later requests.

    An admin's Home also shows the jobs given up, with a button to retry them.
    """
    home = PublishHome(user=user, refusal=refusal, admin=admin)
    if refusal is None and await unit.jobs.pending(home.kind, queue=home.queue):
        return
    await unit.jobs.add(home)


async def home_view(
    unit: Unit, user: UserId, *, rules: ChatRules, inbox: Inbox, admin: bool = False
) -> HomeView:
    per_user = rules.read_mode == "per_user"
    unread_filter = CaseFilter(unread_by=user) if per_user else CaseFilter(unread=True)
    lists = []
    for case_filter in (unread_filter, CaseFilter(assignee=user), CaseFilter()):
        total, rows = await unit.cases.search(
            text="",
            digits=None,
            case_id=None,
            case_filter=case_filter,
            offset=0,
            limit=HOME_LIST_SIZE,
        )
        lists.append((total, [case for case, _name in rows]))
    shown = [case.id for _total, cases in lists for case in cases]
    mine = await unit.reads.unread_for(user, shown) if per_user else None
    dead = await unit.jobs.dead() if admin else None
    unread, assigned, open_cases = [
        await _case_list(unit, total, cases, unread=mine, inbox=inbox) for total, cases in lists
    ]
    return HomeView(
        user=user,
        unread=unread,
        assigned=assigned,
        open=open_cases,
        dead_jobs=(dead.count if dead else 0) if admin else None,
    )


async def _case_list(
    unit: Unit,
    total: int,
    cases: list[CaseRecord],
    *,
    unread: dict[int, int] | None,  # per person; None when everyone shares the count
    inbox: Inbox,
) -> CaseList:
    lines = []
    for case in cases:
        title, _label = await unit.contacts.title(case.contact_number, inbox.title_property)
        lines.append(
            CaseLine(
                case_id=case.id,
                label=title or await contact_address(unit, case.contact_number),
                status=case.status,
                assignee=case.assignee,
                unread=case.unread if unread is None else unread.get(case.id, 0),
                channel=case.channel,
                thread_ts=case.thread_ts,
                last_activity=case.last_activity_at,
            )
        )
    return CaseList(cases=lines, total=total)
