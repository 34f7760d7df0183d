import pytest
from django.db import DatabaseError, connection, transaction

from huifang.audit.models import AuditEntry, AuditLogIsAppendOnly
from huifang.audit.services import record_action, record_reveal
from huifang.org.models import User


@pytest.fixture
def entry(db: None) -> AuditEntry:
    return record_action(actor=None, action="test", object_type="x.y", object_id="1", summary="原文")


def test_saving_an_existing_entry_is_refused(entry: AuditEntry) -> None:
    entry.summary = "改过"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).summary == "原文"


def test_deleting_an_entry_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_queryset_update_and_delete_are_refused(entry: AuditEntry) -> None:
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="改过")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary == "原文"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET summary = 'changed'",
        "DELETE FROM audit_auditentry",
    ],
)
def test_the_database_refuses_raw_sql_that_changes_entries(entry: AuditEntry, statement: str) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEntry.objects.get(pk=entry.pk).summary == "原文"


def test_reveal_is_logged_with_who_and_which_field(agent_a: User) -> None:
    record_reveal(actor=agent_a, obj=agent_a, field="mobile", reason="回访核实")
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.actor_name == "agent_a"
    assert entry.changes == {"field": "mobile", "reason": "回访核实"}
    assert entry.branch_code == "3101"


def test_an_entry_inside_a_rolled_back_transaction_is_not_kept(db: None) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record_action(actor=None, action="test")
        raise RuntimeError("rollback")
    assert not AuditEntry.objects.filter(action="test").exists()
