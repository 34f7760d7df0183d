"""Reads of the questionnaire pages, and the permission-checked fetch of a questionnaire. A questionnaire of
another branch is "not found"; company questionnaires (no owner branch) are visible to every branch."""

from typing import Any

from django.db.models import Max, Q, QuerySet

from huifang.org.queries import NotFound
from huifang.org.scoping import sees_all_branches
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Questionnaire, QuestionnaireVersion, Response


def visible_questionnaires(user: Any) -> QuerySet[Questionnaire]:
    """Company questionnaires and those of the user's branch (HQ: all), with their owner branch."""
    return Questionnaire.objects.usable_by(user).select_related("owner_branch")


def questionnaire_list(user: Any) -> QuerySet[Questionnaire]:
    """The list page's rows: visible questionnaires with the numbers of their published and draft versions."""
    return visible_questionnaires(user).annotate(
        published_number=Max("versions__number", filter=Q(versions__state=VersionState.PUBLISHED)),
        draft_number=Max("versions__number", filter=Q(versions__state=VersionState.DRAFT)),
    ).order_by("code")


def access_questionnaire(user: Any, questionnaire_id: Any) -> Questionnaire:
    """The questionnaire with primary key `questionnaire_id` if `user` may see it; NotFound otherwise."""
    try:
        return visible_questionnaires(user).get(pk=questionnaire_id)
    except (Questionnaire.DoesNotExist, ValueError, TypeError):
        raise NotFound("问卷不存在") from None


def may_design(user: Any, questionnaire: Questionnaire) -> bool:
    """Whether `user` may edit and publish `questionnaire`: the change permission, and the questionnaire is the
    user's branch's own (HQ: every questionnaire; a branch sees company questionnaires but does not edit them)."""
    if not user.has_perm("surveys.change_questionnaire"):
        return False
    return sees_all_branches(user) or (questionnaire.owner_branch_id is not None
                                       and questionnaire.owner_branch_id == getattr(user, "branch_id", None))


def draft_of(questionnaire: Questionnaire) -> QuestionnaireVersion | None:
    return questionnaire.versions.filter(state=VersionState.DRAFT).first()


def shown_version(questionnaire: Questionnaire, number: Any = None) -> QuestionnaireVersion:
    """The version `number` (a string from the query string, or None), else the draft, else the published one,
    else the latest; NotFound when there is no such version."""
    versions = questionnaire.versions.all()
    if number not in (None, ""):
        try:
            return versions.get(number=int(number))
        except (QuestionnaireVersion.DoesNotExist, ValueError, TypeError):
            raise NotFound("问卷版本不存在") from None
    version = (versions.filter(state=VersionState.DRAFT).first()
               or versions.filter(state=VersionState.PUBLISHED).first() or versions.order_by("-number").first())
    if version is None:
        raise NotFound("问卷版本不存在")
    return version


def access_response(user: Any, response_id: Any) -> Response:
    """The response if `user` sees its customer; NotFound otherwise."""
    try:
        return (Response.objects.visible_to(user)
                .select_related("version__questionnaire", "customer__branch", "customer__manager", "event")
                .get(pk=response_id))
    except (Response.DoesNotExist, ValueError, TypeError):
        raise NotFound("答卷不存在") from None
