package dev.vitjava.engine;

/**
 * Settings a backend may use.
 *
 * @param threads worker threads for CPU backends (0: one per core)
 * @param device  a backend-specific device id (TornadoVM's {@code backend:device}, e.g. {@code 0:1}), or null
 */
public record EngineOptions(int threads, String device) {

    public static EngineOptions defaults() {
        return new EngineOptions(0, null);
    }

    public int threadsOrCores() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
