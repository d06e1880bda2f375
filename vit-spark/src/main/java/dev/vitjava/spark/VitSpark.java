package dev.vitjava.spark;

import static org.apache.spark.sql.functions.col;

import dev.vitjava.VitException;
import dev.vitjava.checkpoint.LoadedModel;
import dev.vitjava.cli.EvalReport;
import dev.vitjava.dataset.Evaluation;
import dev.vitjava.dataset.ImageFolderDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.PartitioningAwareFileIndex;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * vit's jobs on Spark: classify or embed a {@code binaryFile} dataset, or evaluate an ImageFolder tree, with one
 * engine per executor JVM ({@link ExecutorModel}) and the CLI's decoding, preprocessing and batching in each
 * partition. A file that cannot be read gives a row with {@code error} set; it never fails the job.
 *
 * <pre>{@code
 * VitSpark vit = new VitSpark(spark);
 * vit.classify(vit.images("hdfs:///photos"), JobOptions.defaults().withModel(ModelSpec.of("google/vit-base-patch16-224")))
 *    .write().parquet("hdfs:///labels");
 * }</pre>
 */
public final class VitSpark {

    /** {@code classify}'s rows: the file, its top classes best first, or the error. */
    public static final StructType CLASSIFY_SCHEMA = new StructType()
            .add("path", DataTypes.StringType, false)
            .add("top", DataTypes.createArrayType(new StructType()
                    .add("index", DataTypes.IntegerType, false)
                    .add("label", DataTypes.StringType, false)
                    .add("prob", DataTypes.FloatType, false), false), true)
            .add("error", DataTypes.StringType, true);

    /** {@code embed}'s rows: the file, its pre-logits (the pooled, normalised features the head sees), or the error. */
    public static final StructType EMBED_SCHEMA = new StructType()
            .add("path", DataTypes.StringType, false)
            .add("embedding", DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add("error", DataTypes.StringType, true);

    /**
     * A path whose file name ends in one of the image extensions that {@code vit classify DIR} and ImageFolder pick
     * ({@link ImageFolderDataset#isImage}: after a dot that does not start the name, in any case). Matched case-blind
     * rather than through {@code lower(path)}: Spark 4's lower() initialises its collation support on first use, which
     * title-cases every Unicode code point once per JVM (measured: 2.8 GB of garbage, 0.4-8 s of CPU time).
     */
    private static final String IMAGE_NAME = "(?i)/[^/]+\\.(" + String.join("|", ImageFolderDataset.EXTENSIONS.stream()
            .sorted().toList()) + ")\\z";

    /** The schema of Spark's {@code binaryFile} source, which {@link #images} gives for every kind of input. */
    private static final StructType BINARY_FILE_SCHEMA = new StructType()
            .add("path", DataTypes.StringType, false)
            .add("modificationTime", DataTypes.TimestampType, false)
            .add("length", DataTypes.LongType, false)
            .add("content", DataTypes.BinaryType, true);

    private final SparkSession spark;
    private final InferPartition.Counters counters;
    private final List<String> listingProblems = new ArrayList<>();

    public VitSpark(SparkSession spark) {
        this.spark = spark;
        var sc = spark.sparkContext();
        this.counters = new InferPartition.Counters(sc.longAccumulator("vit engines created"),
                sc.longAccumulator("vit images"), sc.longAccumulator("vit unreadable images"));
    }

    /** How many engines this object's jobs created: one per executor JVM that ran a task (per model and backend). */
    public long enginesCreated() {
        return counters.enginesCreated().value();
    }

    /** Images this object's jobs went through, and how many of them could not be read (task retries count again). */
    public long images() {
        return counters.images().value();
    }

    public long unreadable() {
        return counters.unreadable().value();
    }

    /**
     * The files at {@code pathOrGlob} as a {@code binaryFile} dataset: a directory is searched recursively for image
     * files (by extension, as {@code vit classify DIR} does; a local one exactly as the CLI lists it); a file or a
     * glob is taken as it is.
     */
    public Dataset<Row> images(String pathOrGlob) {
        listingProblems.clear();
        Path qualified = qualified(pathOrGlob);
        if ("file".equals(qualified.toUri().getScheme())) {
            java.nio.file.Path local = Paths.get(qualified.toUri());
            if (Files.exists(local)) {
                return localImages(local);
            }
        }
        boolean directory = isDirectory(qualified, pathOrGlob);
        Dataset<Row> files;
        try {
            files = spark.read().format("binaryFile").option("recursiveFileLookup", directory).load(pathOrGlob);
        } catch (Exception e) {
            if (e instanceof AnalysisException a && "PATH_NOT_FOUND".equals(a.getCondition())) {
                throw new VitException(pathOrGlob + ": no such file or directory (or nothing matches the glob)");
            }
            throw e;
        }
        files = files.union(emptyFiles(files));
        return directory ? files.filter(col("path").rlike(IMAGE_NAME)) : files;
    }

    /**
     * A local file as it is, or a local directory's images listed as {@code vit classify DIR} lists them
     * ({@link ImageFolderDataset#imagesUnder}: links followed, a link loop or an unreadable directory skipped and
     * reported in {@link #listingProblems}), read in the tasks. Spark's own listing differs: it follows a link loop
     * until the path is too long (with two loops in a tree it never ends), and it skips names that start with '_' or
     * '.', even named one by one.
     */
    private Dataset<Row> localImages(java.nio.file.Path path) {
        ImageFolderDataset.Listing listing = Files.isDirectory(path) ? ImageFolderDataset.imagesUnder(path)
                : new ImageFolderDataset.Listing(List.of(path), List.of());
        if (listing.files().isEmpty() && listing.problems().isEmpty()) {
            throw new VitException(path + ": no image files in this directory"); // as vit classify DIR
        }
        listingProblems.addAll(listing.problems());
        List<Row> files = listing.files().stream()
                .map(f -> RowFactory.create(new Path(f.toUri()).toString(), f.toUri().toString())).toList();
        // as Spark packs small files: 32 to a partition (128 MB of splits at 4 MB of opening cost each)
        int partitions = Math.max(1, Math.max(spark.sparkContext().defaultParallelism(), (files.size() + 31) / 32));
        StructType names = new StructType().add("path", DataTypes.StringType, false)
                .add("uri", DataTypes.StringType, false);
        return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(files,
                partitions), names).mapPartitions(new ReadFiles(), Encoders.row(BINARY_FILE_SCHEMA));
    }

    /**
     * What the last {@link #images} call could not list in a local directory, one line each naming the path, as the
     * CLI reports it.
     */
    public List<String> listingProblems() {
        return List.copyOf(listingProblems);
    }

    /**
     * Spark's file scan skips zero-length files (it makes no split for them), but they are bad images all the same:
     * they come back as rows without content, from the listing Spark already made.
     */
    private Dataset<Row> emptyFiles(Dataset<Row> files) {
        List<Row> empty = new ArrayList<>();
        if (files.queryExecution().analyzed() instanceof LogicalRelation r && r.relation() instanceof HadoopFsRelation fs
                && fs.location() instanceof PartitioningAwareFileIndex index) {
            for (FileStatus f : CollectionConverters.asJava(index.allFiles())) {
                if (f.getLen() == 0) {
                    empty.add(RowFactory.create(f.getPath().toString(), new Timestamp(f.getModificationTime()), 0L,
                            new byte[0]));
                }
            }
        }
        return spark.createDataFrame(empty, files.schema());
    }

    /**
     * Rows of {@link #CLASSIFY_SCHEMA}, one per row of {@code binaryFiles} (which needs {@code path, content}; Spark's
     * {@code binaryFile} reader drops empty files, which {@link #images} adds back).
     */
    public Dataset<Row> classify(Dataset<Row> binaryFiles, JobOptions options) {
        return run(binaryFiles, options, InferPartition.Output.CLASSIFY, CLASSIFY_SCHEMA);
    }

    /** Rows of {@link #EMBED_SCHEMA}, one per row of {@code binaryFiles}. */
    public Dataset<Row> embed(Dataset<Row> binaryFiles, JobOptions options) {
        return run(binaryFiles, options, InferPartition.Output.EMBED, EMBED_SCHEMA);
    }

    private Dataset<Row> run(Dataset<Row> files, JobOptions options, InferPartition.Output output, StructType schema) {
        return files.select("path", "content")
                .mapPartitions(new InferPartition(options, output, counters), Encoders.row(schema));
    }

    /**
     * Top-1/top-5 accuracy over an ImageFolder tree (one sub-directory per class, sorted), the report of
     * {@code vit eval}; {@code unreadable} hears the error of each image that could not be read. The driver loads
     * the model too, for its class count; predictions come back as one small row per image.
     */
    public EvalReport evaluate(String root, JobOptions options, Consumer<String> unreadable) {
        Path dir = qualified(root);
        List<String> classNames = classDirectories(dir, root);
        LoadedModel model = options.model().load(null);
        int numClasses = model.model().config().numClasses();
        int[] targets = Evaluation.targetsByName(classNames, model.labels());
        if (targets == null && classNames.size() > numClasses) {
            throw new VitException(root + ": label " + (classNames.size() - 1) + " is beyond the model's " + numClasses
                    + " classes");
        }
        Map<String, Integer> labelOf = new HashMap<>();
        for (int c = 0; c < classNames.size(); c++) {
            labelOf.put(classNames.get(c), c);
        }
        String prefix = dir.toString() + "/";
        Dataset<Row> files = images(root).filter(col("path").rlike(Pattern.quote(prefix) + "[^/]+/.+"));
        listingProblems.forEach(unreadable); // counted as failures, as vit eval counts them
        Iterator<Row> rows = classify(files, options.withTopK(5)).select("path", "top.index", "error").toLocalIterator();
        Evaluation eval = targets != null ? new Evaluation(classNames, targets, numClasses)
                : new Evaluation(classNames, numClasses);
        int failed = listingProblems.size();
        while (rows.hasNext()) {
            Row r = rows.next();
            if (!r.isNullAt(2)) {
                unreadable.accept(r.getString(2));
                failed++;
                continue;
            }
            String relative = r.getString(0).substring(prefix.length());
            eval.add(labelOf.get(relative.substring(0, relative.indexOf('/'))),
                    r.<Integer>getList(1).stream().mapToInt(Integer::intValue).toArray());
        }
        return new EvalReport(root, eval, failed, targets != null ? "name" : "position", false);
    }

    /** The class sub-directories of an ImageFolder root, sorted as torchvision (and ImageFolderDataset) sort them. */
    private List<String> classDirectories(Path dir, String root) {
        try {
            FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
            List<String> names = Arrays.stream(fs.listStatus(dir)).filter(FileStatus::isDirectory)
                    .map(s -> s.getPath().getName()).filter(n -> !n.startsWith(".")).sorted().toList();
            if (names.isEmpty()) {
                throw new VitException(root
                        + ": no class sub-directories (expected ImageFolder layout root/<class>/<image>)");
            }
            return names;
        } catch (IOException e) {
            throw new VitException(root + ": cannot list: " + e.getMessage(), e);
        }
    }

    private boolean isDirectory(Path p, String pathOrGlob) {
        try {
            FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            return fs.exists(p) && fs.getFileStatus(p).isDirectory();
        } catch (IOException e) {
            throw new VitException(pathOrGlob + ": cannot read: " + e.getMessage(), e);
        }
    }

    private Path qualified(String path) {
        try {
            Path p = new Path(path);
            return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).makeQualified(p);
        } catch (IOException | IllegalArgumentException e) {
            throw new VitException(path + ": " + e.getMessage(), e);
        }
    }
}
