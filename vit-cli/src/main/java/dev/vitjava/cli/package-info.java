/**
 * The {@code vit} command (picocli): {@link dev.vitjava.cli.Main} lists the subcommands, one class each
 * ({@code ClassifyCommand}, {@code BenchCommand}, …); options shared by several commands are mixins (the model:
 * {@code ModelOptions}, the backend: {@code EngineOptionsMixin}, the image pipeline: {@code PreprocessOptions}).
 * Commands reach backends only through vit-core's {@code engine} interfaces, by name. vit-spark reuses the model
 * as values that travel to executors ({@code ModelSpec}), {@code vit eval}'s report ({@code EvalReport}) and
 * {@code Main.run}, to which it adds its {@code spark} subcommand.
 */
package dev.vitjava.cli;
