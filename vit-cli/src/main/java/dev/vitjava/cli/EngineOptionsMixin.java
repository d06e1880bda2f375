package dev.vitjava.cli;

import dev.vitjava.engine.Backends;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.model.ViTModel;
import picocli.CommandLine.Option;

/** Which backend runs the model, and its settings. */
final class EngineOptionsMixin {

    @Option(names = {"-b", "--backend"}, paramLabel = "NAME", defaultValue = "cpu",
            description = "Backend: reference, cpu, tornado (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "Worker threads for CPU backends (default: one per core).")
    int threads;

    @Option(names = "--device", paramLabel = "ID",
            description = "Device for the tornado backend, as backend:device (e.g. 0:1; see 'vit devices').")
    String device;

    /** Starts the backend's model-independent preparation, so it overlaps loading the model. */
    void prepare() {
        Backends.find(backend).prepare();
    }

    InferenceEngine create(ViTModel model) {
        return Backends.create(backend, model, new EngineOptions(threads, device));
    }
}
