package dev.vitjava.spark;

import dev.vitjava.VitException;
import dev.vitjava.cli.EvalReport;
import dev.vitjava.cli.Main;
import dev.vitjava.cli.ModelOptions;
import dev.vitjava.image.ImageDecoder;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vit spark classify|embed|eval}: the jobs of {@link VitSpark} from the command line. The {@code vit} launcher
 * runs this class for {@code vit spark ...} with the Spark class path Maven resolved for vit-spark, and
 * {@code spark-submit --class dev.vitjava.spark.SparkMain vit-spark-job.jar classify ...} runs it on a cluster.
 */
@Command(name = "spark", mixinStandardHelpOptions = true,
        description = "Run classify, embed or eval as an Apache Spark job (locally with --master local[N], or on a "
            + "cluster through spark-submit). One engine per executor; unreadable images give rows with 'error'.",
        subcommands = {SparkMain.Classify.class, SparkMain.Embed.class, SparkMain.Eval.class})
public final class SparkMain {

    /** Runs {@code vit spark ARGS}: the arguments after {@code spark}, as spark-submit passes them. */
    public static void main(String[] args) {
        String[] all = new String[args.length + 1];
        all[0] = "spark";
        System.arraycopy(args, 0, all, 1, args.length);
        System.exit(Main.run(all, new PrintWriter(System.out, true), new PrintWriter(System.err, true), new SparkMain()));
    }

    /** Options every job takes. */
    static final class JobMixin {
        @Option(names = "--master", paramLabel = "URL",
                description = "Spark master, e.g. local[4] (default: spark-submit's, else local[*]).")
        String master;

        @Mixin
        ModelOptions model;

        @Option(names = "--backend", paramLabel = "NAME", defaultValue = "cpu",
                description = "Backend on the executors: reference, cpu, tornado (default: ${DEFAULT-VALUE}).")
        String backend;

        @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
                description = "Engine threads per executor (default: the executor's cores).")
        int threads;

        @Option(names = {"-b", "--batch", "--batch-size"}, paramLabel = "B", defaultValue = "16",
                description = "Images per batch (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--max-pixels", paramLabel = "N", defaultValue = "" + ImageDecoder.DEFAULT_MAX_PIXELS,
                description = "Refuse images with more pixels (default ${DEFAULT-VALUE}).")
        long maxPixels;

        @Option(names = "--input", required = true, paramLabel = "PATH_OR_GLOB",
                description = "A directory (searched recursively for images), a file or a glob; any Hadoop file "
                        + "system URI (file:, hdfs:, s3a:, ...).")
        String input;

        JobOptions options(int topK) {
            return new JobOptions(model.spec(), backend, threads, batch, topK, maxPixels);
        }

        /** The master URLs Spark 4 knows (checked before Spark starts: it logs a bad one with a stack trace). */
        private static final Pattern MASTER = Pattern.compile(
                "local(\\[([1-9]\\d*|\\*)(,[1-9]\\d*)?])?|local-cluster\\[[1-9]\\d*,[1-9]\\d*,[1-9]\\d*]"
                        + "|spark://.+|yarn|k8s://.+");

        SparkSession session(String job) {
            SparkSession.Builder builder = SparkSession.builder().appName("vit spark " + job);
            if (master != null) {
                if (!MASTER.matcher(master).matches()) {
                    throw new VitException("--master " + master + ": not a Spark master URL (local, local[N], "
                            + "local[*], spark://HOST:PORT, yarn, k8s://URL)");
                }
                builder.master(master);
            } else if (System.getProperty("spark.master") == null) {
                builder.master("local[*]");
            }
            SparkSession spark;
            try {
                spark = builder.getOrCreate();
            } catch (Exception e) { // a master URL Spark cannot use (its checked SparkException, thrown undeclared)
                throw new VitException("cannot start Spark" + (master != null ? " with --master " + master : "")
                        + ": " + e.getMessage(), e);
            }
            spark.sparkContext().setLogLevel("WARN");
            return spark;
        }
    }

    /**
     * A failed job as one line: Spark reports a task's exception inside its own message, with the executor's stack
     * trace; our one-line error, when a task threw one, is in the cause chain.
     */
    static RuntimeException jobError(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof VitException v) {
                return v;
            }
        }
        if (!(e instanceof SparkException)) {
            return e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
        String message = String.valueOf(e.getMessage());
        int end = message.indexOf('\n');
        return new VitException("the Spark job failed: " + (end < 0 ? message : message.substring(0, end)), e);
    }

    /** Where and how a job writes its rows. */
    static final class OutputMixin {
        enum Format { parquet, json }

        enum Mode {
            overwrite(SaveMode.Overwrite), append(SaveMode.Append), error_if_exists(SaveMode.ErrorIfExists);

            final SaveMode save;

            Mode(SaveMode save) {
                this.save = save;
            }
        }

        @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output directory.")
        String output;

        @Option(names = "--format", paramLabel = "FMT", defaultValue = "parquet",
                description = "Output format: ${COMPLETION-CANDIDATES} (JSON: one object per line; default: "
                        + "${DEFAULT-VALUE}).")
        Format format;

        @Option(names = "--mode", paramLabel = "MODE", defaultValue = "error-if-exists", converter = ModeConverter.class,
                description = "When DIR exists: overwrite, append or error-if-exists (default: ${DEFAULT-VALUE}).")
        Mode mode;

        static final class ModeConverter implements picocli.CommandLine.ITypeConverter<Mode> {
            @Override
            public Mode convert(String value) {
                try {
                    return Mode.valueOf(value.replace('-', '_'));
                } catch (IllegalArgumentException e) {
                    throw new picocli.CommandLine.TypeConversionException(
                            "'" + value + "' is not one of overwrite, append, error-if-exists");
                }
            }
        }

        /**
         * Writes the rows (after {@link #checkTarget}); Spark's commit protocol moves them into DIR only when the job
         * succeeded.
         */
        void write(Dataset<Row> rows) {
            rows.write().mode(mode.save).format(format.name()).save(output);
        }

        /** Refuses an existing DIR under error-if-exists (before any work, with a one-line error). */
        void checkTarget(SparkSession spark) {
            if (mode == Mode.error_if_exists) {
                try {
                    Path dir = new Path(output);
                    if (dir.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(dir)) {
                        throw new VitException(output + ": already exists (--mode overwrite or append to write there)");
                    }
                } catch (IOException e) {
                    throw new VitException(output + ": cannot check: " + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * A job with one row per image: runs it, writes the rows, reports the counts; exit code 1 when some images could
     * not be read (their rows are written all the same), as {@code vit classify}.
     */
    abstract static class RowsJob implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        JobMixin job;

        @Mixin
        OutputMixin output;

        abstract JobOptions options();

        abstract Dataset<Row> rows(VitSpark vit, Dataset<Row> files);

        @Override
        public Integer call() {
            String name = spec.name();
            SparkSession spark = job.session(name);
            try {
                output.checkTarget(spark);
                VitSpark vit = new VitSpark(spark);
                Dataset<Row> files = vit.images(job.input);
                vit.listingProblems().forEach(p -> spec.commandLine().getErr().println("vit: " + p));
                ExecutorModel.createIfLocal(options());
                try {
                    output.write(rows(vit, files));
                } catch (Exception e) { // Spark throws its checked SparkException undeclared
                    throw jobError(e);
                }
                spec.commandLine().getErr().printf(Locale.ROOT, "vit spark %s: %d images, %d unreadable (rows with "
                        + "'error'), written to %s%n", name, vit.images(), vit.unreadable(), output.output);
                return vit.unreadable() == 0 && vit.listingProblems().isEmpty() ? 0 : Main.EXIT_FAILURE;
            } finally {
                spark.stop();
            }
        }
    }

    @Command(name = "classify", mixinStandardHelpOptions = true,
            description = "Classify images; one row per image: path, top (array of index, label, prob; best first), "
                    + "error (why the image could not be read, else null).")
    static final class Classify extends RowsJob {
        @Option(names = {"-k", "--top-k"}, paramLabel = "K", defaultValue = "5",
                description = "Classes kept per image (default: ${DEFAULT-VALUE}).")
        int topK;

        @Override
        JobOptions options() {
            return job.options(topK);
        }

        @Override
        Dataset<Row> rows(VitSpark vit, Dataset<Row> files) {
            return vit.classify(files, options());
        }
    }

    @Command(name = "embed", mixinStandardHelpOptions = true,
            description = "Embed images; one row per image: path, embedding (the pre-logits: the pooled, normalised "
                    + "features the classifier head sees), error.")
    static final class Embed extends RowsJob {
        @Override
        JobOptions options() {
            return job.options(JobOptions.defaults().topK());
        }

        @Override
        Dataset<Row> rows(VitSpark vit, Dataset<Row> files) {
            return vit.embed(files, options());
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "Top-1/top-5 accuracy over an ImageFolder tree (--input: one sub-directory per class), "
                    + "printed as 'vit eval' prints it.")
    static final class Eval implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        JobMixin job;

        @Mixin
        EvalReport.Options reportOptions;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            SparkSession spark = job.session("eval");
            try {
                EvalReport report;
                try {
                    report = new VitSpark(spark).evaluate(job.input, job.options(5),
                            error -> err.println("vit: " + error));
                } catch (Exception e) { // Spark throws its checked SparkException undeclared
                    throw jobError(e);
                }
                reportOptions.print(spec.commandLine().getOut(), report.dataset(), report.eval(), report.failed(),
                        report.matching());
                return report.failed() == 0 ? 0 : Main.EXIT_FAILURE;
            } finally {
                spark.stop();
            }
        }
    }
}
