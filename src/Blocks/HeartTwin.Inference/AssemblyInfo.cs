// HeartTwin.Inference: serves the beat models (ONNX) by their model cards. No HTTP here; hosts map endpoints.
[assembly: System.CLSCompliant(false)]
