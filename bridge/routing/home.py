"""The App Home: each person's unread and assigned cases, and the open ones."""

from __future__ import annotations

from bridge.domain.numbers import format_number
from bridge.domain.rules import ChatRules, Inbox
from bridge.domain.values import ChannelId, SlackTs, UserId
from bridge.domain.views import CaseLine, CaseList, HomeView
from bridge.store.models import Case
from bridge.store.repo import CaseFilter, Repository

PUBLISH_HOME = "slack.publish_home"
HOME_LIST_SIZE = 10


def home_queue(user: str) -> str:
    return f"slack:home:{user}"


async def request_home(
    repo: Repository, user: str, *, refusal: str | None = None, admin: bool = False
) -> None:
    """Queue a fresh App Home for `user`; one waiting refresh covers later requests.

    An admin's Home also shows the jobs given up, with a button to retry them.
    """
    if refusal is None and await repo.has_pending_job(PUBLISH_HOME, queue=home_queue(user)):
        return
    await repo.enqueue(
        PUBLISH_HOME, queue=home_queue(user), user=user, refusal=refusal, admin=admin
    )


async def home_view(
    repo: Repository, user: UserId, *, rules: ChatRules, inbox: Inbox, admin: bool = False
) -> HomeView:
    per_user = rules.read_mode == "per_user"
    unread_filter = CaseFilter(unread_by=user) if per_user else CaseFilter(unread=True)
    lists = []
    for case_filter in (unread_filter, CaseFilter(assignee=user), CaseFilter()):
        total, rows = await repo.search_cases(
            text="",
            digits=None,
            case_id=None,
            case_filter=case_filter,
            offset=0,
            limit=HOME_LIST_SIZE,
        )
        lists.append((total, rows))
    shown = [case.id for _total, rows in lists for case, _name in rows]
    mine = await repo.unread_for(user, shown) if per_user else None
    dead = await repo.dead_jobs_summary() if admin else None
    return HomeView(
        user=user,
        unread=await _case_list(repo, *lists[0], unread=mine, inbox=inbox),
        assigned=await _case_list(repo, *lists[1], unread=mine, inbox=inbox),
        open=await _case_list(repo, *lists[2], unread=mine, inbox=inbox),
        dead_jobs=(dead[0] if dead else 0) if admin else None,
    )


async def _case_list(
    repo: Repository,
    total: int,
    rows: list[tuple[Case, str | None]],
    *,
    unread: dict[int, int] | None,  # per person; None when everyone shares the count
    inbox: Inbox,
) -> CaseList:
    lines = []
    for case, _name in rows:
        title, _label = await repo.number_title(case.contact_number, inbox.title_property)
        lines.append(
            CaseLine(
                case_id=case.id,
                label=title or format_number(case.contact_number),
                status=case.status,
                assignee=UserId(case.assignee) if case.assignee else None,
                unread=case.unread if unread is None else unread.get(case.id, 0),
                channel=ChannelId(case.channel),
                thread_ts=SlackTs(case.thread_ts) if case.thread_ts else None,
                last_activity=case.last_activity_at,
            )
        )
    return CaseList(cases=lines, total=total)
