"""The submission state machine as data: ``(state, action) → new state``. No Flask imports.

Guards that depend on who acts (ownership, roles, four-eyes) live in the services; this table only
says which moves exist at all, so every pair can be tested exhaustively.
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import InvalidTransition


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    RETURNED = "returned"
    REJECTED = "rejected"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    SUBMIT = "submit"
    ENTER_ROUTE = "enter_route"
    APPROVE = "approve"
    RETURN = "return"
    RESUBMIT = "resubmit"
    REJECT = "reject"
    WITHDRAW = "withdraw"


#: An approval that is not the last step keeps the state at in_review; the final one moves it to
#: approved. The table names the final move; ``approve`` on an intermediate step is a same-state move.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.DRAFT, Action.SUBMIT): State.SUBMITTED,
    (State.SUBMITTED, Action.ENTER_ROUTE): State.IN_REVIEW,
    (State.IN_REVIEW, Action.APPROVE): State.APPROVED,
    (State.IN_REVIEW, Action.RETURN): State.RETURNED,
    (State.IN_REVIEW, Action.REJECT): State.REJECTED,
    (State.RETURNED, Action.RESUBMIT): State.SUBMITTED,
    (State.SUBMITTED, Action.WITHDRAW): State.WITHDRAWN,
    (State.IN_REVIEW, Action.WITHDRAW): State.WITHDRAWN,
    (State.RETURNED, Action.WITHDRAW): State.WITHDRAWN,
}

#: States from which nothing moves.
FINAL_STATES = frozenset({State.REJECTED, State.APPROVED, State.WITHDRAWN})


#: States in which a case is open: filed, and not yet decided or withdrawn.
OPEN_STATES = frozenset({State.SUBMITTED, State.IN_REVIEW, State.RETURNED})


def next_state(state: str, action: str) -> State:
    """The state ``action`` leads to from ``state``; ``InvalidTransition`` when the table has no such move."""
    try:
        return TRANSITIONS[(State(state), Action(action))]
    except (KeyError, ValueError):
        raise InvalidTransition(f"cannot {action} a submission that is {state}") from None
