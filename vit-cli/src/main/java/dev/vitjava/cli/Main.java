package dev.vitjava.cli;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.MappedFaults;
import dev.vitjava.io.Printable;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The {@code vit} command. Errors are one line on stderr: exit code 2 for a usage error (an unknown option or
 * command, a bad option value), 1 for anything else; {@code --verbose} adds the trace. Arguments can come from files
 * ({@code @args.txt}, picocli's argument files).
 */
@Command(name = "vit", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Vision Transformer inference and fine-tuning in Java.",
        footer = {"", "vit spark classify|embed|eval runs these commands as Apache Spark jobs",
            "(the vit-spark module; see docs/distributed.md)."},
        subcommands = {
            ClassifyCommand.class, EvalCommand.class, PreprocessCommand.class, RunCommand.class, InspectCommand.class,
            ConvertCommand.class, BenchCommand.class, FinetuneCommand.class, AttentionCommand.class, EmbedCommand.class,
            DevicesCommand.class, CommandLine.HelpCommand.class
        })
public final class Main {

    /** Exit code for a failure the user can fix (bad file, bad shape). */
    public static final int EXIT_FAILURE = 1;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Show stack traces of errors.")
    boolean verbose;

    public static void main(String[] args) {
        if (Relaunch.needed()) {
            System.exit(Relaunch.withVectorModule(args));
        }
        EngineOptionsMixin.prestart(args);
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs the CLI with the given streams; returns the exit code (tests call this directly). {@code subcommands} are
     * added to the built-in ones: vit-spark's main adds {@code spark}, so vit-cli never needs Spark's jars.
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err, Object... subcommands) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        for (Object command : subcommands) {
            cli.addSubcommand(command);
        }
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, a) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println(usageError(ex));
            if (main.verbose) {
                ex.printStackTrace(cmd.getErr());
            }
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        });
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> report(ex, cmd, main.verbose));
        int code;
        try {
            code = cli.execute(args);
        } catch (Error e) { // picocli hands only Exceptions to the handler: out of memory, a mapped-file fault
            List<CommandLine> parsed = cli.getParseResult() == null ? List.of() : cli.getParseResult().asCommandLineList();
            code = report(e, parsed.isEmpty() ? cli : parsed.get(parsed.size() - 1), main.verbose);
        }
        if (code == 0 && out.checkError()) {
            err.println("vit: " + Output.CANNOT_WRITE);
            return EXIT_FAILURE;
        }
        return code;
    }

    /** One line on stderr (and the trace with --verbose, or for an unexpected error); returns the exit code. */
    private static int report(Throwable ex, CommandLine cmd, boolean verbose) {
        Path mapped = modelFile(cmd);
        if (mapped != null && MappedFaults.isFault(ex)) {
            ex = MappedFaults.describe(mapped, ex);
        }
        boolean known = ex instanceof VitException || ex instanceof OutOfMemoryError;
        PrintWriter err = cmd.getErr();
        err.println("vit: " + (known ? "" : "internal error: ") + oneLine(ex));
        if (verbose) {
            ex.printStackTrace(err);
        } else if (!known) {
            err.println("(run with --verbose for details)");
        }
        return EXIT_FAILURE;
    }

    /** The weights file the failed command had loaded, if it loads one. */
    private static Path modelFile(CommandLine cmd) {
        CommandSpec options = cmd.getCommandSpec().mixins().get("modelOptions");
        return options != null && options.userObject() instanceof ModelOptions m ? m.weightsFile : null;
    }

    /** One line: what is wrong, a suggestion for a misspelt command or option, and where help is. */
    static String usageError(CommandLine.ParameterException ex) {
        CommandLine cmd = ex.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName();
        String message = ex.getMessage();
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            String what = cmd.getSubcommands().isEmpty() || u.isUnknownOption() ? "" : "unknown command ";
            message = (what.isEmpty() ? message : what + "'" + u.getUnmatched().get(0) + "'") + "; did you mean '"
                    + String.join("' or '", u.getSuggestions()) + "'?";
        }
        return name + ": " + message.replace('\n', ' ').strip() + " (see '" + name + " --help')";
    }

    private static String oneLine(Throwable ex) {
        String message = ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
        if (ex instanceof OutOfMemoryError) {
            message = "out of memory (" + message + "); try a smaller --batch or a larger -Xmx in JAVA_OPTS";
        }
        return Printable.escape(message);
    }

    /** Reads the version Maven wrote into version.properties. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"vit " + p.getProperty("version", "unknown") + " (Java "
                    + Runtime.version() + ", " + System.getProperty("java.vm.name") + ")"};
        }
    }
}
