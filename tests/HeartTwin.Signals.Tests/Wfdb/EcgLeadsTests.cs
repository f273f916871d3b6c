using HeartTwin.Signals.Wfdb;

namespace HeartTwin.Signals.Tests.Wfdb;

public class EcgLeadsTests
{
    [Theory]
    [InlineData("101", "MLII")]
    [InlineData("114", "MLII")] // 114 records V5 first
    [InlineData("102", "V5")] // no limb lead: the first ECG lead
    public void The_rhythm_lead_is_lead_II_where_the_record_has_one(string record, string expected)
    {
        var header = WfdbHeader.Read(Path.Combine(TestData.MitDb, record + ".hea"));
        var selected = EcgLeads.Select(header);
        header.Signals[selected[EcgLeads.RhythmLead(header)]].Description.ShouldBe(expected);
    }

    [Fact]
    public void Record_114_lists_V5_first()
    {
        var header = WfdbHeader.Read(Path.Combine(TestData.MitDb, "114.hea"));
        header.Signals[0].Description.ShouldBe("V5");
        EcgLeads.RhythmLead(header).ShouldBe(1);
    }
}
