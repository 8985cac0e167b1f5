"""Feedback's command handlers, and `HANDLERS`, by which the bus (shared.messagebus) finds them.

Each takes its command and the unit of work, and what bootstrap injects (the clock, the policy),
and returns the aggregate it changed, from which the entrypoint builds its answer. Transactions,
idempotency, saving, retrying a lost race and remembering the answer are the bus's.
"""
from __future__ import annotations

from typing import Any, Callable

from services.feedback.domain import commands as cmd
from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure
from services.feedback.domain.items import FeedbackItem
from services.feedback.domain.policy import Policy, RequestFacts
from services.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.contracts.feedback import complaint_taken_at_intake
from shared.errors import NotFound


async def owned_request(uow: FeedbackUnitOfWork, request_id: str, caller: cmd.Caller) -> RequestFacts:
    """The request's facts, if the caller may act on it; anyone else's does not exist for them."""
    facts = await uow.request_facts(request_id)
    if not caller.owns(facts.customer_id):
        raise NotFound(f"no request {request_id!r} awaiting feedback")
    return facts


async def closure_of(uow: FeedbackUnitOfWork, request_id: str) -> Closure:
    closure = await uow.closures.get(request_id)
    if closure is None:
        closure = Closure.for_request(request_id)
        uow.closures.add(request_id, closure)
    return closure


async def item_of(uow: FeedbackUnitOfWork, item_id: str) -> FeedbackItem:
    item = await uow.items.get(item_id)
    if item is None:
        raise NotFound(f"no feedback {item_id!r}")
    return item


def survey_id(ids: IdSource, request_id: str) -> str:
    return f"{request_id}:{ids.next()}"


async def confirm_resolution(c: cmd.ConfirmResolution, uow: FeedbackUnitOfWork, clock: Clock, policy: Policy) -> Closure:
    facts = await owned_request(uow, c.request_id, c.caller)
    closure = await closure_of(uow, c.request_id)
    closure.confirm(c.caller.id, survey_id(uow.ids, c.request_id), policy.survey_ttl, clock.now(), policy.follow_up(facts))
    return closure


async def reject_resolution(c: cmd.RejectResolution, uow: FeedbackUnitOfWork, clock: Clock) -> Closure:
    facts = await owned_request(uow, c.request_id, c.caller)
    closure = await closure_of(uow, c.request_id)
    closure.data_subject = facts.customer_id  # the reason is the customer's words
    closure.reject(c.reason, c.caller.id, clock.now())
    return closure


async def return_survey(c: cmd.ReturnSurvey, uow: FeedbackUnitOfWork, clock: Clock, policy: Policy) -> Closure:
    closure = await uow.closures.get(c.request_id)
    if closure is None:
        raise NotFound(f"no survey for request {c.request_id!r}")
    closure.data_subject = (await uow.request_facts(c.request_id)).customer_id  # the comment is theirs
    closure.return_survey(c.survey_id, c.csat, c.nps, c.dimensions, c.comment, policy.follow_up_in, clock.now())
    return closure


async def complete_follow_up(c: cmd.CompleteFollowUp, uow: FeedbackUnitOfWork, clock: Clock) -> Closure:
    await owned_request(uow, c.request_id, c.caller)
    closure = await closure_of(uow, c.request_id)
    closure.complete_follow_up(c.outcome, c.caller.id, clock.now())
    return closure


async def give_feedback(c: cmd.GiveFeedback, uow: FeedbackUnitOfWork, clock: Clock, policy: Policy) -> FeedbackItem:
    customer = (await owned_request(uow, c.request_id, c.caller)).customer_id if c.request_id else None
    now = clock.now()
    item = FeedbackItem.receive(uow.ids.next(), c.kind, c.request_id, c.text, c.caller.id,
                                now + policy.deadlines[c.kind], now, customer_id=customer)
    uow.items.add(item.id, item)
    return item


async def acknowledge_feedback(c: cmd.AcknowledgeFeedback, uow: FeedbackUnitOfWork, clock: Clock) -> FeedbackItem:
    item = await item_of(uow, c.feedback_id)
    item.acknowledge(c.by, c.note, clock.now())
    return item


async def investigate_feedback(c: cmd.InvestigateFeedback, uow: FeedbackUnitOfWork, clock: Clock) -> FeedbackItem:
    item = await item_of(uow, c.feedback_id)
    item.investigate(c.by, c.findings, clock.now())
    return item


async def resolve_feedback(c: cmd.ResolveFeedback, uow: FeedbackUnitOfWork, clock: Clock) -> FeedbackItem:
    """Resolving a complaint intake took as a request that dispatch does not work also ends the
    request: the outcome is all the customer was owed."""
    item = await item_of(uow, c.feedback_id)
    now = clock.now()
    item.resolve(c.outcome, c.by, now)
    if item.via == "intake" and item.request_id is not None:
        if (await uow.request_facts(item.request_id)).dispatched is False:
            (await closure_of(uow, item.request_id)).close_without_survey("complaint_resolved", now)
    return item


async def raise_complaint(c: cmd.RaiseComplaint, uow: FeedbackUnitOfWork, policy: Policy) -> FeedbackItem:
    """Intake took the request as a complaint: the complaint, with its deadline from when it was
    received, under the one id derived from the request (so a redelivery raises nothing)."""
    item_id = complaint_taken_at_intake(c.request_id)
    if (item := await uow.items.get(item_id)) is not None:
        return item
    item = FeedbackItem.receive(item_id, "complaint", c.request_id, c.text, c.customer_id,
                                c.received_at + policy.deadlines["complaint"], c.received_at, via="intake",
                                customer_id=c.customer_id)
    uow.items.add(item_id, item)
    return item


async def acknowledge_raised_complaint(c: cmd.AcknowledgeRaisedComplaint, uow: FeedbackUnitOfWork) -> FeedbackItem | None:
    """Intake's acknowledgement of a request it took as a complaint acknowledges the complaint,
    unless someone already did (feedback's own acknowledgement may have come first)."""
    item = await uow.items.get(complaint_taken_at_intake(c.request_id))
    if item is not None and item.status == "open":
        item.acknowledge(c.by, c.note, c.at)
    return item


async def open_improvement_action(c: cmd.OpenImprovementAction, uow: FeedbackUnitOfWork,
                                  clock: Clock) -> ImprovementAction:
    action = ImprovementAction.open(uow.ids.next(), c.title, c.plan, c.owner, c.due_at, list(c.answers), c.by,
                                    clock.now())
    for item_id in c.answers:
        await item_of(uow, item_id)  # it must answer feedback that exists
    uow.actions.add(action.id, action)
    return action


async def progress_improvement_action(c: cmd.ProgressImprovementAction, uow: FeedbackUnitOfWork,
                                      clock: Clock) -> ImprovementAction:
    action = await uow.actions.get(c.action_id)
    if action is None:
        raise NotFound(f"no improvement action {c.action_id!r}")
    action.progress(c.stage, c.note, c.by, clock.now())
    return action


async def request_confirmation(c: cmd.RequestConfirmation, uow: FeedbackUnitOfWork, clock: Clock,
                               policy: Policy) -> Closure:
    closure = await closure_of(uow, c.request_id)
    closure.resolved(c.resolution_code, c.summary, policy.confirmation_wait, clock.now())
    return closure


async def close_without_survey(c: cmd.CloseWithoutSurvey, uow: FeedbackUnitOfWork, clock: Clock) -> Closure:
    """The request ended unresolved (withdrawn, merged): so does a complaint raised for it."""
    now = clock.now()
    closure = await closure_of(uow, c.request_id)
    closure.close_without_survey(c.how, now)
    if (raised := await uow.items.get(complaint_taken_at_intake(c.request_id))) is not None:
        raised.withdraw(f"its request was {c.how}", now)
    return closure


async def close_unanswered(c: cmd.CloseUnanswered, uow: FeedbackUnitOfWork, clock: Clock, policy: Policy) -> Closure:
    closure = await closure_of(uow, c.request_id)
    facts = await uow.request_facts(c.request_id)
    closure.close_unanswered(survey_id(uow.ids, c.request_id), policy.survey_ttl, clock.now(), policy.follow_up(facts))
    uow.closures.add(c.request_id, closure)  # its row is rewritten even if it was not due: never picked again
    return closure


async def escalate_late_complaint(c: cmd.EscalateLateComplaint, uow: FeedbackUnitOfWork, clock: Clock) -> FeedbackItem:
    item = await item_of(uow, c.feedback_id)
    item.escalate_if_late(clock.now())
    uow.items.add(c.feedback_id, item)  # as above: a row out of step with its stream is put right
    return item


HANDLERS: dict[type, Callable[..., Any]] = {
    cmd.ConfirmResolution: confirm_resolution,
    cmd.RejectResolution: reject_resolution,
    cmd.ReturnSurvey: return_survey,
    cmd.CompleteFollowUp: complete_follow_up,
    cmd.GiveFeedback: give_feedback,
    cmd.AcknowledgeFeedback: acknowledge_feedback,
    cmd.InvestigateFeedback: investigate_feedback,
    cmd.ResolveFeedback: resolve_feedback,
    cmd.OpenImprovementAction: open_improvement_action,
    cmd.ProgressImprovementAction: progress_improvement_action,
    cmd.RequestConfirmation: request_confirmation,
    cmd.CloseWithoutSurvey: close_without_survey,
    cmd.CloseUnanswered: close_unanswered,
    cmd.EscalateLateComplaint: escalate_late_complaint,
    cmd.RaiseComplaint: raise_complaint,
    cmd.AcknowledgeRaisedComplaint: acknowledge_raised_complaint,
}
