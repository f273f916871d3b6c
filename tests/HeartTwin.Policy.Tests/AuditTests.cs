using HeartTwin.Contracts;
using HeartTwin.Messaging;
using static HeartTwin.Policy.Tests.Proposals;

namespace HeartTwin.Policy.Tests;

public sealed class AuditTests
{
    [Fact]
    public async Task Every_decision_produces_exactly_one_audit_entry_and_the_chain_verifies()
    {
        using var dir = new TempDir();
        await using var h = await PolicyHarness.StartAsync(dir.Write("p.yaml", DecisionTests.Descriptor));

        var proposals = new List<ActionProposed>();
        for (int i = 0; i < 20; i++)
        {
            proposals.Add(i % 2 == 0
                ? Command("raise-alarm", P("level", (i % 5).ToString(System.Globalization.CultureInfo.InvariantCulture)), patient: $"p{i % 3}", device: $"d{i % 3}")
                : Alert("af-onset", "warning", patient: $"p{i % 3}"));
        }

        var shares = Enumerable.Range(0, 10).Select(i => new ShareRequest(i % 2 == 0 ? "twin-b" : "nurse", ["system/*.rs"], "p1", "ecg", "webhook")).ToList();
        var decisions = new List<ShareDecision>();
        await Task.WhenAll(proposals.Select(p => h.Bus.PublishAsync(p)));
        foreach (var s in shares)
        {
            decisions.Add(await h.Bus.RequestAsync<ShareRequest, ShareDecision>(s));
        }

        var audit = h.Store.Entries.OrderBy(e => e.Sequence).ToList();
        audit.Count.ShouldBe(30);
        audit.Select(e => e.Sequence).ShouldBe(Enumerable.Range(1, 30).Select(i => (long)i));
        AuditChain.Verify(audit).Valid.ShouldBeTrue();
        h.Decisions.Received.Count.ShouldBe(20);
        foreach (var d in h.Decisions.Received)
        {
            audit.Count(e => e.Subject.EndsWith(d.Proposal.ActionId, StringComparison.Ordinal)).ShouldBe(1);
            var entry = audit.Single(e => e.Subject.EndsWith(d.Proposal.ActionId, StringComparison.Ordinal));
            entry.Allowed.ShouldBe(d.Allowed);
            entry.Rule.ShouldBe(d.Rule);
            entry.PolicyVersion.ShouldBe(d.PolicyVersion);
        }

        audit.Count(e => e.Category == "share").ShouldBe(10);
        audit.Where(e => e.Category == "share").Count(e => e.Allowed).ShouldBe(decisions.Count(d => d.Allowed));
    }

    [Fact]
    public async Task Redelivered_proposal_is_decided_once_and_its_decision_published_again()
    {
        using var dir = new TempDir();
        await using var h = await PolicyHarness.StartAsync(dir.Write("p.yaml", DecisionTests.Descriptor));
        var proposal = Command("raise-alarm", P("level", "1"));

        await h.Bus.PublishAsync(proposal);
        await h.Bus.PublishAsync(proposal);
        await h.Bus.PublishAsync(proposal);

        h.Store.Entries.Count.ShouldBe(1);
        h.Decisions.Received.Count.ShouldBe(3);
        h.Decisions.Received.Select(d => d.DecidedAt).Distinct().Count().ShouldBe(1);

        // The redeliveries did not use up the rate limit (2 per hour).
        await h.Bus.PublishAsync(Command("raise-alarm", P("level", "1")));
        h.Decisions.Received[^1].Allowed.ShouldBeTrue();
    }

    [Fact]
    public async Task Chain_continues_from_the_sequence_and_hash_storage_holds()
    {
        using var dir = new TempDir();
        var earlier = Chain(41);
        await using var h = await PolicyHarness.StartAsync(dir.Write("p.yaml", DecisionTests.Descriptor), seed: s => s.Seed(earlier));

        await h.Bus.PublishAsync(Alert("af-onset", "warning"));

        var entry = h.Store.Entries[^1];
        entry.Sequence.ShouldBe(42);
        entry.PreviousHash.ShouldBe(earlier[^1].Hash);
        AuditChain.Verify(h.Store.Entries).Valid.ShouldBeTrue();
    }

    [Fact]
    public async Task Without_storage_the_trail_starts_at_one()
    {
        using var dir = new TempDir();
        await using var h = await PolicyHarness.StartAsync(dir.Write("p.yaml", DecisionTests.Descriptor), withStore: false);

        await h.Bus.PublishAsync(Alert("af-onset", "warning"));
        await h.Bus.PublishAsync(Alert("af-onset", "warning"));

        h.Audit.Received.Select(e => e.Sequence).ShouldBe([1L, 2L]);
        h.Audit.Received[0].PreviousHash.ShouldBe(AuditChain.GenesisHash);
        AuditChain.Verify(h.Audit.Received).Valid.ShouldBeTrue();
    }

    [Fact]
    public async Task Decision_that_cannot_be_audited_is_not_published_and_no_share_is_allowed()
    {
        using var dir = new TempDir();
        await using var h = await PolicyHarness.StartAsync(dir.Write("p.yaml", DecisionTests.Descriptor));
        h.Store.FailWrites = true;

        await Should.ThrowAsync<MessageDeliveryException>(() => h.Bus.PublishAsync(Command("raise-alarm", P("level", "1"))));
        await Should.ThrowAsync<MessageDeliveryException>(() =>
            h.Bus.RequestAsync<ShareRequest, ShareDecision>(new("admin", ["admin"], "p1", "ecg", "api")));

        h.Decisions.Received.ShouldBeEmpty();

        // Once Storage works again the chain goes on without a gap.
        h.Store.FailWrites = false;
        await h.Bus.PublishAsync(Alert("af-onset", "warning"));
        h.Store.Entries.Select(e => e.Sequence).ShouldBe([1L]);
    }

    [Fact]
    public void Tampered_entry_is_found_at_its_sequence()
    {
        var chain = Chain(10);
        AuditChain.Verify(chain).ShouldBe(new AuditVerification(true, 10, 10, null, null));

        var altered = chain.ToList();
        altered[6] = altered[6] with { Allowed = !altered[6].Allowed };
        var result = AuditChain.Verify(altered);
        result.Valid.ShouldBeFalse();
        result.FirstBrokenSequence.ShouldBe(7);
        result.Problem!.ShouldContain("altered");

        // Re-hashing the altered entry does not help: the next link breaks.
        altered[6] = altered[6] with { Hash = AuditChain.ComputeHash(altered[6]) };
        AuditChain.Verify(altered).FirstBrokenSequence.ShouldBe(8);
    }

    [Fact]
    public void Removed_or_reordered_entries_break_the_chain()
    {
        var chain = Chain(6);

        AuditChain.Verify(chain.Where(e => e.Sequence != 4)).FirstBrokenSequence.ShouldBe(5);
        AuditChain.Verify([chain[0], chain[2], chain[1]]).FirstBrokenSequence.ShouldBe(3);
        AuditChain.Verify(chain.Skip(1)).Valid.ShouldBeTrue(); // a slice verifies from its first entry on
        AuditChain.Verify([chain[0] with { PreviousHash = new string('1', 64) }]).FirstBrokenSequence.ShouldBe(1);
    }

    [Fact]
    public void Hash_depends_on_every_field()
    {
        var e = Chain(1)[0];
        string h = AuditChain.ComputeHash(e);

        AuditChain.ComputeHash(e with { Reason = e.Reason + "." }).ShouldNotBe(h);
        AuditChain.ComputeHash(e with { Actor = "x" }).ShouldNotBe(h);
        AuditChain.ComputeHash(e with { Time = e.Time.AddMilliseconds(1) }).ShouldNotBe(h);
        AuditChain.ComputeHash(e with { PolicyVersion = "0" }).ShouldNotBe(h);

        // Field boundaries are unambiguous: moving text from one field into the next changes the hash.
        AuditChain.ComputeHash(e with { Actor = "ab", PatientId = "c" }).ShouldNotBe(AuditChain.ComputeHash(e with { Actor = "a", PatientId = "bc" }));
    }

    internal static List<AuditRecorded> Chain(int count)
    {
        var list = new List<AuditRecorded>();
        string previous = AuditChain.GenesisHash;
        for (int i = 1; i <= count; i++)
        {
            var e = new AuditRecorded(i, new DateTimeOffset(2026, 11, 1, 0, 0, i, TimeSpan.Zero), "share", "r", "p1", "ecg:api", i % 2 == 0,
                "rule", "because", "v1", previous, "");
            e = e with { Hash = AuditChain.ComputeHash(e) };
            list.Add(e);
            previous = e.Hash;
        }

        return list;
    }
}
