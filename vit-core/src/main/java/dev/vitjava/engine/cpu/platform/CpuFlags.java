package dev.vitjava.engine.cpu.platform;

/**
 * Every {@code vit.cpu.*} system property the cpu engine reads, read once here (so a new switch is one line here,
 * and the list of what can be tuned is this class).
 */
public final class CpuFlags {

    /** {@code -Dvit.cpu.debug=true}: print packing, warm-up and page-release times on stderr. */
    public static final boolean DEBUG = Boolean.getBoolean("vit.cpu.debug");
    /** {@code -Dvit.cpu.unaligned=true}: do not align packed weights to cache lines (to measure what it gains). */
    public static final boolean UNALIGNED = Boolean.getBoolean("vit.cpu.unaligned");
    /** {@code -Dvit.cpu.keepMapped=true}: keep the mapped checkpoint pages resident after packing. */
    public static final boolean KEEP_MAPPED = Boolean.getBoolean("vit.cpu.keepMapped");

    private CpuFlags() {
    }
}
