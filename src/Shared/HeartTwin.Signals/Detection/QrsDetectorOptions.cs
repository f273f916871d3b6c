namespace HeartTwin.Signals.Detection;

/// <summary>Settings of <see cref="QrsDetector"/>. The defaults are physiological, not fitted to any record.</summary>
public sealed record QrsDetectorOptions
{
    /// <summary>Lower edge of the QRS band, in Hz.</summary>
    public double BandLowHz { get; init; } = 5;

    /// <summary>Upper edge of the QRS band, in Hz (clamped below Nyquist).</summary>
    public double BandHighHz { get; init; } = 18;

    /// <summary>Length of the moving-window integrator, in seconds: about one wide QRS complex.</summary>
    public double IntegrationWindowSeconds { get; init; } = 0.12;

    /// <summary>Refractory period after a beat, in seconds: no two beats are closer than this.</summary>
    public double RefractorySeconds { get; init; } = 0.2;

    /// <summary>Beats closer than this to the previous one must pass the T-wave slope test, in seconds.</summary>
    public double TWaveWindowSeconds { get; init; } = 0.36;

    /// <summary>How long a candidate peak must stay the highest before it is judged, in seconds.</summary>
    public double PeakHoldSeconds { get; init; } = 0.12;

    /// <summary>Position of the detection threshold between the noise and the signal levels (0–1).</summary>
    public double ThresholdFraction { get; init; } = 0.3;

    /// <summary>
    /// A candidate must exceed this multiple of the largest integrated slope in the half second before it
    /// (outside the previous beat's hump): noise bursts raise that background, a QRS stands above it.
    /// </summary>
    /// <remarks>
    /// A trade between false and missed beats (about one for one from 1.0 to 1.3), chosen on the gross figures of the
    /// 26 shared records at 250, 360 and 500 Hz together; docs/qrs-detector.md gives the table.
    /// </remarks>
    public double BackgroundFactor { get; init; } = 1.2;
}
