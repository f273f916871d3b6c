namespace HeartTwin.Inference.Tests;

public sealed class ClassifyTests : IDisposable
{
    private readonly BeatClassifier _model = BeatClassifier.Load(TestFiles.TinyCard);

    public void Dispose() => _model.Dispose();

    [Fact]
    public void Probabilities_of_each_beat_sum_to_one()
    {
        var (beats, rr) = RandomBeats(37, seed: 1);
        var output = new float[37 * 5];

        _model.Classify(beats, rr, 37, output);

        for (int i = 0; i < 37; i++)
        {
            output.AsSpan(i * 5, 5).ToArray().Sum().ShouldBe(1f, 1e-5f);
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(150)] // more than BeatClassifier.MaxRunBatch: three runs, the last one partial
    public void A_beat_gets_the_same_probabilities_alone_as_in_a_batch(int n)
    {
        var (beats, rr) = RandomBeats(n, seed: 2);
        var batch = new float[n * 5];
        _model.Classify(beats, rr, n, batch);

        var one = new float[5];
        for (int i = 0; i < n; i++)
        {
            _model.Classify(beats.AsSpan(i * 256, 256), rr.AsSpan(i * 6, 6), 1, one);
            for (int k = 0; k < 5; k++)
            {
                one[k].ShouldBe(batch[i * 5 + k], 1e-6f);
            }
        }
    }

    [Fact]
    public void Output_span_may_be_longer_and_its_tail_is_left_alone()
    {
        var (beats, rr) = RandomBeats(3, seed: 3);
        var output = Enumerable.Repeat(-1f, 20).ToArray();

        _model.Classify(beats, rr, 3, output);

        output.Take(15).ShouldAllBe(p => p > 0f && p < 1f);
        output.Skip(15).ShouldAllBe(p => p == -1f);
    }

    [Fact]
    public void Batch_of_zero_does_nothing()
    {
        Should.NotThrow(() => _model.Classify([], [], 0, []));
    }

    [Fact]
    public void Beats_of_the_wrong_length_are_refused_with_the_expected_count()
    {
        var (beats, rr) = RandomBeats(2, seed: 4);

        var e = Should.Throw<ArgumentException>(() => _model.Classify(beats.AsSpan(0, 511), rr, 2, new float[10]));

        e.ParamName.ShouldBe("beats");
        e.Message.ShouldContain("beats holds 511 floats; 2 beats of 2 channels × 128 samples need 512");
    }

    [Fact]
    public void Rr_features_of_the_wrong_length_are_refused()
    {
        var (beats, rr) = RandomBeats(2, seed: 5);

        var e = Should.Throw<ArgumentException>(() => _model.Classify(beats, rr.AsSpan(0, 6), 2, new float[10]));

        e.ParamName.ShouldBe("rr");
        e.Message.ShouldContain("rr holds 6 floats; 2 beats of 6 RR features need 12");
    }

    [Fact]
    public void Output_too_short_is_refused()
    {
        var (beats, rr) = RandomBeats(2, seed: 6);

        var e = Should.Throw<ArgumentException>(() => _model.Classify(beats, rr, 2, new float[9]));

        e.ParamName.ShouldBe("probabilities");
    }

    [Fact]
    public void Batch_that_disagrees_with_the_spans_is_refused()
    {
        var (beats, rr) = RandomBeats(2, seed: 7);

        Should.Throw<ArgumentException>(() => _model.Classify(beats, rr, 3, new float[15])).ParamName.ShouldBe("beats");
        Should.Throw<ArgumentOutOfRangeException>(() => _model.Classify(beats, rr, -1, new float[15]));
    }

    [Fact]
    public void List_results_carry_the_probabilities_the_predicted_label_and_the_model()
    {
        var (beats, rr) = RandomBeats(10, seed: 8);
        var expected = new float[50];
        _model.Classify(beats, rr, 10, expected);

        var results = _model.Classify(Inputs(beats, rr, 10));

        results.Count.ShouldBe(10);
        for (int i = 0; i < 10; i++)
        {
            var r = results[i];
            r.ModelName.ShouldBe("tiny-beat");
            r.ModelVersion.ShouldBe("0.1.0");
            r.ModelId.ShouldBe("tiny-beat@0.1.0");
            r.Probabilities.ShouldBe(expected.AsSpan(i * 5, 5).ToArray());
            int best = Array.IndexOf(expected, expected.AsSpan(i * 5, 5).ToArray().Max(), i * 5) - i * 5;
            r.LabelIndex.ShouldBe(best);
            r.Label.ShouldBe(_model.Labels[best]);
            r.Confidence.ShouldBe(expected[i * 5 + best]);
        }
    }

    [Fact]
    public void List_is_cut_into_batches_of_at_most_MaxBatch_with_the_same_results()
    {
        using var small = BeatClassifier.Load(TestFiles.TinyCard, new BeatClassifierOptions { MaxBatch = 3 });
        var (beats, rr) = RandomBeats(11, seed: 9);
        var inputs = Inputs(beats, rr, 11);

        var whole = _model.Classify(inputs);
        var chunked = small.Classify(inputs);

        for (int i = 0; i < 11; i++)
        {
            chunked[i].LabelIndex.ShouldBe(whole[i].LabelIndex);
            for (int k = 0; k < 5; k++)
            {
                chunked[i].Probabilities[k].ShouldBe(whole[i].Probabilities[k], 1e-6f);
            }
        }
    }

    [Fact]
    public void Empty_list_gives_no_results()
    {
        _model.Classify(Array.Empty<BeatInput>()).ShouldBeEmpty();
    }

    [Fact]
    public void List_beat_of_the_wrong_length_is_refused_naming_the_beat()
    {
        var (beats, rr) = RandomBeats(4, seed: 10);
        var inputs = Inputs(beats, rr, 4).ToArray();
        inputs[2] = inputs[2] with { Beat = inputs[2].Beat[..128] };
        inputs[3] = inputs[3] with { Rr = inputs[3].Rr[..5] };

        Should.Throw<ArgumentException>(() => _model.Classify(inputs)).Message.ShouldContain("beat 2 holds 128 window floats");
        inputs[2] = Inputs(beats, rr, 4)[2];
        Should.Throw<ArgumentException>(() => _model.Classify(inputs)).Message.ShouldContain("beat 3 holds 5 RR features");
    }

    [Fact]
    public void Single_beat_call_refuses_a_wrong_length()
    {
        Should.Throw<ArgumentException>(() => _model.Classify(new float[200], new float[6])).ParamName.ShouldBe("beats");
    }

    [Fact]
    public void Disposed_classifier_refuses_to_classify()
    {
        var model = BeatClassifier.Load(TestFiles.TinyCard);
        model.Dispose();
        model.Dispose();

        Should.Throw<ObjectDisposedException>(() => model.Classify(new float[256], new float[6], 1, new float[5]));
    }

    internal static (float[] Beats, float[] Rr) RandomBeats(int count, int seed)
    {
        var random = new Random(seed);
        var beats = new float[count * 256];
        var rr = new float[count * 6];
        for (int i = 0; i < beats.Length; i++)
        {
            beats[i] = (float)(random.NextDouble() * 4 - 2);
        }

        for (int i = 0; i < rr.Length; i++)
        {
            rr[i] = (float)(0.4 + random.NextDouble() * 1.4);
        }

        return (beats, rr);
    }

    internal static IReadOnlyList<BeatInput> Inputs(float[] beats, float[] rr, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new BeatInput(beats.AsMemory(i * 256, 256), rr.AsMemory(i * 6, 6)))];
}
