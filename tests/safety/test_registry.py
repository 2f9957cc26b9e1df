"""The fingerprint registry in the database: registration on completion, compaction, lookup."""
from __future__ import annotations

import numpy as np

from voicegate.fingerprint import fingerprint, score_postings
from safety.models import FingerprintBlock, FingerprintHash, RegisteredClip
from safety.registry import vote
from safety.selectors import find_in_registry
from safety.services import compact_fingerprints, register_fingerprint

from .conftest import RATE, produce


def test_vectorised_vote_agrees_with_the_reference_scoring():
    rng = np.random.default_rng(3)
    for _ in range(50):
        query = [(int(rng.integers(0, 40)), int(rng.integers(0, 60))) for _ in range(int(rng.integers(1, 80)))]
        n = int(rng.integers(0, 500))
        hashes, clips, frames = rng.integers(0, 40, n), rng.integers(1, 6, n), rng.integers(0, 90, n)
        ours = {(v.clip_id, v.score) for v in vote(query, hashes, clips, frames, min_score=3, limit=10)}
        postings = list(zip(hashes.tolist(), clips.tolist(), frames.tolist()))
        reference = {(m.clip_id, m.score) for m in score_postings(query, postings, min_score=3, limit=10)}
        assert ours == reference


def test_completed_generation_is_registered_and_found_before_and_after_compaction(tenant, narration, other_speech):
    generation, marked = produce(tenant.organisation, tenant.producer.user, narration)
    clip = RegisteredClip.objects.get(generation_id=generation.pk)
    assert clip.hash_count == FingerprintHash.objects.filter(clip=clip).count() > 100
    excerpt = fingerprint(marked[3 * RATE:6 * RATE], RATE)
    before = find_in_registry(excerpt)
    assert before[0].generation_id == str(generation.pk)
    assert before[0].vote.clip_offset_s == np.float64(before[0].vote.clip_offset_s)  # plain float
    moved = compact_fingerprints()
    assert moved == clip.hash_count and FingerprintHash.objects.count() == 0 and FingerprintBlock.objects.exists()
    after = find_in_registry(excerpt)
    assert after[0].generation_id == str(generation.pk) and after[0].vote.score == before[0].vote.score
    assert find_in_registry(fingerprint(other_speech, RATE)) == []


def test_registering_twice_adds_nothing(tenant, narration):
    generation, marked = produce(tenant.organisation, tenant.producer.user, narration[:4 * RATE])
    rows = FingerprintHash.objects.count()
    register_fingerprint(generation.pk, marked, RATE, organisation=tenant.organisation)
    assert FingerprintHash.objects.count() == rows and RegisteredClip.objects.count() == 1


def test_compaction_appends_to_existing_blocks(tenant, narration):
    first, marked_first = produce(tenant.organisation, tenant.producer.user, narration[:5 * RATE])
    compact_fingerprints()
    second, marked_second = produce(tenant.organisation, tenant.producer.user, narration[5 * RATE:])
    compact_fingerprints()
    assert find_in_registry(fingerprint(marked_first, RATE))[0].generation_id == str(first.pk)
    assert find_in_registry(fingerprint(marked_second, RATE))[0].generation_id == str(second.pk)
    total = sum(block.count for block in FingerprintBlock.objects.all())
    assert total == RegisteredClip.objects.get(generation_id=first.pk).hash_count + \
        RegisteredClip.objects.get(generation_id=second.pk).hash_count


def test_lookup_reads_the_rarest_hashes_first_within_its_budget(tenant, narration, monkeypatch):
    from safety import selectors

    generation, marked = produce(tenant.organisation, tenant.producer.user, narration)
    compact_fingerprints()
    assert selectors._rarest_within_budget({1: 5, 2: 1, 3: 10}, 6) == [2, 1]
    assert selectors._rarest_within_budget({1: 50}, 6) == [1]  # always at least one hash
    monkeypatch.setattr(selectors, "POSTING_BUDGET", 40)
    found = find_in_registry(fingerprint(marked[2 * RATE:6 * RATE], RATE))
    assert found[0].generation_id == str(generation.pk) and 8 <= found[0].vote.score <= 41


def test_sped_up_tempo_changed_or_pitch_shifted_output_is_still_found(tenant, narration, other_speech):
    from voicegate.fingerprint import warped_query
    from safety.selectors import find_warped_in_registry
    from tests.watermark.attacks import WARP_ATTACKS

    generation, marked = produce(tenant.organisation, tenant.producer.user, narration)
    compact_fingerprints()
    for attack, factor, time_scale, freq_scale in [("speed", 1.05, 1 / 1.05, 1.05), ("speed", 0.96, 1 / 0.96, 0.96),
                                                   ("atempo", 0.95, 1 / 0.95, 1.0),
                                                   ("sox_pitch", 1.05, 1.0, 1.05)]:
        changed = WARP_ATTACKS[attack](marked, RATE, factor)
        if attack != "atempo":  # WSOLA keeps some stretches of the original timing, hence some plain hashes
            assert find_in_registry(fingerprint(changed, RATE)) == [], "the plain hashes must not survive"
        found = find_warped_in_registry(warped_query(changed, RATE))
        assert found and found[0].generation_id == str(generation.pk), (attack, factor)
        # WSOLA (atempo) keeps the original timing inside each of its ~20 ms segments, so landmark pairs
        # close in time are not stretched and the estimate lands between 1 and the true scale (measured
        # 1.036 for 1.053, depending on the output's watermark payload, i.e. its generation id).
        tolerance = 0.025 if attack == "atempo" else 0.011
        assert abs(found[0].warp.time_scale / time_scale - 1) < tolerance, (attack, found[0].warp)
        assert abs(found[0].warp.freq_scale / freq_scale - 1) < 0.011, (attack, found[0].warp)
        assert found[0].vote.clip_offset_s < 0.5  # the upload starts where the output does
    assert find_warped_in_registry(warped_query(other_speech, RATE)) == []
    assert find_warped_in_registry(warped_query(WARP_ATTACKS["speed"](other_speech, RATE, 1.04), RATE)) == []
