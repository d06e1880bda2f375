package dev.vitjava.engine;

import dev.vitjava.VitException;
import dev.vitjava.engine.cpu.CpuEngine;
import dev.vitjava.model.ViTModel;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** The known backends: the built-in CPU ones and any found on the class path. */
public final class Backends {

    /** What to do when the optional TornadoVM module is absent. */
    private static final String TORNADO_HINT = "the tornado backend is not available: it needs a TornadoVM SDK "
            + "(https://github.com/beehive-lab/TornadoVM); install one, set TORNADOVM_HOME, and rebuild with ./build "
            + "so the vit-tornado module is included";

    private Backends() {
    }

    public static List<EngineProvider> all() {
        List<EngineProvider> providers = new ArrayList<>(List.of(new ReferenceEngine.Provider(), new CpuEngine.Provider()));
        ServiceLoader.load(EngineProvider.class).forEach(providers::add);
        return providers;
    }

    public static EngineProvider find(String name) {
        for (EngineProvider p : all()) {
            if (p.name().equals(name)) {
                p.unavailableReason().ifPresent(reason -> {
                    throw new VitException("backend '" + name + "' is not available: " + reason);
                });
                return p;
            }
        }
        if (name.equals("tornado")) {
            throw new VitException(TORNADO_HINT);
        }
        throw new VitException("unknown backend '" + name + "' (available: "
                + String.join(", ", all().stream().map(EngineProvider::name).toList()) + ")");
    }

    public static InferenceEngine create(String name, ViTModel model, EngineOptions options) {
        return find(name).create(model, options);
    }
}
