package dev.vitjava.engine;

import dev.vitjava.model.ViTModel;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A backend, discovered with {@link java.util.ServiceLoader} so that optional modules (vit-tornado) plug in
 * when they are on the class path.
 */
public interface EngineProvider {

    /** The name given to {@code --backend}. */
    String name();

    /** One line for {@code vit devices}. */
    String description();

    /** Why this backend cannot run here (missing SDK, no device), or empty when it can. */
    default Optional<String> unavailableReason() {
        return Optional.empty();
    }

    /** Devices this backend can run on, each with its properties, for {@code vit devices}. */
    default List<Map<String, String>> devices() {
        return List.of();
    }

    /**
     * Starts, in the background, whatever one-time preparation this backend needs before its first engine and that
     * does not depend on the model (the cpu backend's JIT warm-up), so it overlaps start-up and model loading.
     * Optional: {@link #create} does it anyway (and waits for it) when it was not started.
     */
    default void prepare() {
    }

    InferenceEngine create(ViTModel model, EngineOptions options);
}
