// HeartTwin.Signals: signal processing, file formats and detectors. No ASP.NET, no I/O beyond files.
[assembly: System.CLSCompliant(false)]
