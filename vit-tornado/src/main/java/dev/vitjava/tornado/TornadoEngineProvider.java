package dev.vitjava.tornado;

import dev.vitjava.VitException;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.EngineProvider;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.model.ViTModel;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Registers the {@code tornado} backend. This class links against no TornadoVM class, so that the service
 * loader can instantiate it, and {@link #unavailableReason()} can explain what is missing, in a JVM started
 * without TornadoVM (no SDK on the module path, or java run without {@code @$TORNADOVM_HOME/tornado-argfile}).
 */
public final class TornadoEngineProvider implements EngineProvider {

    /** The setting ({@link EngineOptions#settings()}) that picks TornadoVM's {@code backend:device}, e.g. {@code 0:1}. */
    public static final String DEVICE = "device";

    private static final String RUNTIME_PROPERTY = "tornado.load.runtime.implementation";
    private static final String API_CLASS = "uk.ac.manchester.tornado.api.TornadoExecutionPlan";

    /** Checked once per JVM: starting TornadoVM's runtime is not free, and does not change. */
    private static final class Availability {
        static final Optional<String> REASON = check(System.getProperty(RUNTIME_PROPERTY));
    }

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public String description() {
        return "TornadoVM kernels on an OpenCL, PTX or SPIR-V device (GPU, or CPU through OpenCL), float32";
    }

    @Override
    public Optional<String> unavailableReason() {
        return Availability.REASON;
    }

    /** Why TornadoVM cannot run, given the argfile's runtime-implementation property (null without it). */
    static Optional<String> check(String runtimeImplementation) {
        if (runtimeImplementation == null) {
            return Optional.of("the TornadoVM runtime is not loaded: run java with @$TORNADOVM_HOME/tornado-argfile "
                    + "(TornadoVM's module path and options), with TORNADOVM_HOME pointing at a TornadoVM SDK");
        }
        try {
            Class.forName(API_CLASS, false, TornadoEngineProvider.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return Optional.of("TornadoVM's API (tornado-api) is not on the class or module path: run java with "
                    + "@$TORNADOVM_HOME/tornado-argfile");
        }
        try {
            if (TornadoDevices.count() == 0) {
                return Optional.of("TornadoVM found no device: check the drivers (OpenCL ICD, CUDA) with "
                        + "'tornado --devices'");
            }
        } catch (Throwable e) {
            return Optional.of("the TornadoVM runtime failed to start: " + e);
        }
        return Optional.empty();
    }

    @Override
    public List<Map<String, String>> devices() {
        if (unavailableReason().isPresent()) {
            return List.of();
        }
        return TornadoDevices.list();
    }

    @Override
    public InferenceEngine create(ViTModel model, EngineOptions options) {
        unavailableReason().ifPresent(reason -> {
            throw new VitException("backend 'tornado' is not available: " + reason);
        });
        return TornadoEngine.create(model, options);
    }
}
