package dev.vitjava.engine;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Settings for a backend: the host thread count, which every CPU-side backend understands, and an open map of
 * backend-specific settings by name (e.g. the tornado backend's {@code device}). A backend reads the settings it
 * knows, documented on its provider, and ignores the others, so a new backend option needs no change here: the CLI
 * (or any caller) puts it in the map with {@link #with}.
 *
 * @param threads  worker threads for CPU backends (0: one per core)
 * @param settings backend-specific settings, name to value
 */
public record EngineOptions(int threads, Map<String, String> settings) {

    public EngineOptions {
        settings = Map.copyOf(settings);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(0, Map.of());
    }

    public EngineOptions withThreads(int n) {
        return new EngineOptions(n, settings);
    }

    /** These options with one more setting ({@code value} null: without it). */
    public EngineOptions with(String name, String value) {
        Map<String, String> m = new HashMap<>(settings);
        if (value == null) {
            m.remove(name);
        } else {
            m.put(name, value);
        }
        return new EngineOptions(threads, m);
    }

    public Optional<String> setting(String name) {
        return Optional.ofNullable(settings.get(name));
    }

    public int threadsOrCores() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
