package dev.vitjava.engine;

import dev.vitjava.VitException;
import dev.vitjava.model.ViTModel;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The backends on the class path, found with {@link ServiceLoader}: vit-core registers {@code reference} and
 * {@code cpu} in its own {@code META-INF/services/dev.vitjava.engine.EngineProvider}, and an optional module
 * (vit-tornado) adds its own the same way. Nothing here knows any backend by name.
 */
public final class Backends {

    private Backends() {
    }

    /** Loaded once: the class path does not change. */
    private static final class Loaded {
        static final List<EngineProvider> PROVIDERS = ServiceLoader.load(EngineProvider.class).stream()
                .map(ServiceLoader.Provider::get).toList();
    }

    /** Every backend found, available here or not, in class path order (vit-core's first where it comes first). */
    public static List<EngineProvider> all() {
        return Loaded.PROVIDERS;
    }

    /** The backend of that name, available or not. */
    public static Optional<EngineProvider> named(String name) {
        return all().stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** The backend of that name, if it can run here; else a {@link VitException} that says why. */
    public static EngineProvider find(String name) {
        EngineProvider p = named(name).orElseThrow(() -> new VitException("unknown backend '" + name
                + "' (available: " + String.join(", ", all().stream().map(EngineProvider::name).toList()) + ")"));
        p.unavailableReason().ifPresent(reason -> {
            throw new VitException("backend '" + name + "' is not available: " + reason);
        });
        return p;
    }

    public static InferenceEngine create(String name, ViTModel model, EngineOptions options) {
        return find(name).create(model, options);
    }
}
