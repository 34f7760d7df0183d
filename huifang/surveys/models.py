"""Questionnaires (问卷) with versions, and the responses given to a version.

A version's questions are its `definition` (the JSON export format, rules.FORMAT): a published version is never
changed again (services refuse it, and a response always points at the version that was asked), so answers
stay readable however the questionnaire evolves."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huifang.customers.models import Customer, CustomerEvent
from huifang.org.models import Branch
from huifang.org.scoping import BranchScopedQuerySet
from huifang.surveys.choices import ResponseStatus, VersionState


class QuestionnaireQuerySet(BranchScopedQuerySet):
    branch_path = "owner_branch"

    def usable_by(self, principal: object) -> "QuestionnaireQuerySet":
        """Company questionnaires (no owner branch) and those of the principal's branches (HQ: all)."""
        # Two querysets, not Q(...) | branch_q(...): for HQ branch_q is an empty Q(), which an OR drops.
        return self.visible_to(principal) | self.filter(owner_branch__isnull=True)


class Questionnaire(models.Model):
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    # 是否模板: branches may copy it and adapt their copy
    is_template = models.BooleanField(_("template"), default=False)
    # null: a company questionnaire (made at headquarters); else the branch that made and owns it
    owner_branch = models.ForeignKey(Branch, verbose_name=_("owner branch"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="questionnaires")
    # 适用单位: none means every branch
    branches = models.ManyToManyField(Branch, verbose_name=_("applicable branches"), blank=True,
                                      related_name="applicable_questionnaires")
    #: the callback type codes it serves (DOMAIN.md "Stable codes")
    callback_types = models.JSONField(_("callback types"), default=list, blank=True)
    copied_from = models.ForeignKey("self", verbose_name=_("copied from"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="copies")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = QuestionnaireQuerySet.as_manager()

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def branch(self) -> Branch | None:
        return self.owner_branch


class QuestionnaireVersion(models.Model):
    questionnaire = models.ForeignKey(Questionnaire, verbose_name=_("questionnaire"), on_delete=models.CASCADE,
                                      related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    state = models.CharField(_("state"), max_length=20, choices=VersionState.choices, default=VersionState.DRAFT)
    #: the questions, as the export format's "questions" list
    definition = models.JSONField(_("questions"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("published by"), null=True,
                                     blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("questionnaire version")
        verbose_name_plural = _("questionnaire versions")
        ordering = ["questionnaire", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "number"], name="version_unique_number"),
            # one draft and one published version at a time
            models.UniqueConstraint(fields=["questionnaire"], condition=Q(state="draft"), name="version_one_draft"),
            models.UniqueConstraint(fields=["questionnaire"], condition=Q(state="published"),
                                    name="version_one_published"),
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire.code} v{self.number}（{self.get_state_display()}）"


class ResponseQuerySet(BranchScopedQuerySet):
    branch_path = "customer__branch"


class Response(models.Model):
    """One customer's answers to one version, saved answer by answer."""

    version = models.ForeignKey(QuestionnaireVersion, verbose_name=_("questionnaire version"),
                                on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="survey_responses")
    #: the business event the callback is about (a transfer, a purchase): its product, amount and date fill the
    #: scripts' {产品名称} {金额} {日期} and {事件.<key>}
    event = models.ForeignKey(CustomerEvent, verbose_name=_("business event"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="survey_responses")
    status = models.CharField(_("status"), max_length=20, choices=ResponseStatus.choices,
                              default=ResponseStatus.IN_PROGRESS)
    #: phone, sms, email, web: where the latest answer came from
    channel = models.CharField(_("channel"), max_length=20, default="phone")
    #: the question to ask next ("" once ended)
    current_question = models.CharField(_("current question"), max_length=20, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-started_at"]
        indexes = [
            # statistics per version over a period
            models.Index(fields=["version", "started_at"], name="response_version_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.customer_id} {self.get_status_display()}"

    @property
    def branch(self) -> Branch:
        return self.customer.branch


class Answer(models.Model):
    response = models.ForeignKey(Response, verbose_name=_("response"), on_delete=models.CASCADE,
                                 related_name="answers")
    question_code = models.CharField(_("question"), max_length=20)
    #: the cleaned value (rules.clean_answer); null when skipped
    value = models.JSONField(_("answer"), null=True, blank=True)
    other_text = models.CharField(_("other, specified"), max_length=500, blank=True)
    #: a soft-required question skipped by the agent: why
    skipped_reason = models.CharField(_("reason for skipping"), max_length=200, blank=True)
    #: when it was given: to find it in the call's recording
    answered_at = models.DateTimeField(_("answered at"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["response", "answered_at"]
        constraints = [
            models.UniqueConstraint(fields=["response", "question_code"], name="answer_one_per_question"),
        ]

    def __str__(self) -> str:
        return f"{self.question_code}={self.value}"
