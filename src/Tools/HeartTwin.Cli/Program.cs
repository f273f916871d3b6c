return HeartTwin.Cli.CliApp.Run(args);
