"""Change notices name records by typed reference and are compared exactly (never by a key's prefix)."""

from octotui.domain.refs import (
    EVERYTHING_CHANGED,
    NOTHING_CHANGED,
    OUTBOX_CHANGED,
    ChangeNotice,
    RecordRef,
    RunRef,
    Shows,
)

REL_1, REL_12, INC_1, DEC_1 = RecordRef("release", 1), RecordRef("release", 12), RecordRef("incident", 1), RecordRef("decision", 1)


def test_a_record_is_its_kind_and_id_exactly():
    assert RecordRef.parse("REL-12") == REL_12 != REL_1
    assert REL_12.key == str(REL_12) == "REL-12"
    assert RunRef("incident", 1, "escalation").owner_ref == INC_1
    for not_a_key in ("REL-", "REL", "REL-1x", "REL-١", "rel-1", "XYZ-1", "meta", "outbox", "*", ""):
        assert RecordRef.parse(not_a_key) is None, not_a_key


def test_a_notice_concerns_the_exact_records_shown():
    rel_1_checklist = Shows.of(records={REL_1})
    assert not ChangeNotice.of(REL_12).concerns(rel_1_checklist), "REL-12 is not REL-1"
    assert not ChangeNotice.of(INC_1, DEC_1).concerns(rel_1_checklist), "nor INC-1 nor DEC-1"
    assert ChangeNotice.of(REL_12, REL_1).concerns(rel_1_checklist)
    assert not ChangeNotice.of(RecordRef("incident", 12)).concerns(Shows.of(records={INC_1}))


def test_a_list_shows_every_record_of_its_kinds():
    board = Shows.of("release")
    assert ChangeNotice.of(REL_12).concerns(board)
    assert not ChangeNotice.of(INC_1, DEC_1).concerns(board)
    assert ChangeNotice(kinds=frozenset({"release"})).concerns(board)
    assert not ChangeNotice(kinds=frozenset({"decision"})).concerns(board)
    assert ChangeNotice(kinds=frozenset({"release"})).concerns(Shows.of(records={REL_1})), "every release: REL-1 too"


def test_outbox_meta_and_everything_are_their_own_notices():
    comms = Shows.of("release", outbox=True)
    assert OUTBOX_CHANGED.concerns(comms) and not OUTBOX_CHANGED.concerns(Shows.of("release", "incident", "decision"))
    assert ChangeNotice(meta=True).concerns(Shows.of(meta=True)) and not ChangeNotice(meta=True).concerns(comms)
    assert EVERYTHING_CHANGED.concerns(Shows.of(records={REL_1})) and EVERYTHING_CHANGED.concerns(Shows())
    assert not NOTHING_CHANGED and not NOTHING_CHANGED.concerns(comms)


def test_notices_add_up_and_say_what_changed_by_id():
    both = ChangeNotice.of(REL_12) | OUTBOX_CHANGED | ChangeNotice.of(INC_1)
    assert both == ChangeNotice(records=frozenset({REL_12, INC_1}), outbox=True) and both
    assert str(both) == "INC-1, REL-12, outbox"
    assert str(EVERYTHING_CHANGED | ChangeNotice(meta=True)) == "everything, meta"
