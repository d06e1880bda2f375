package dev.vitjava.tornado.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import org.junit.jupiter.api.Test;

/** The tile sizes' table: the defaults, fitted to a device's limits, and the {@code --tiles} syntax. */
class TilesTest {

    @Test
    void aDeviceWithRoomGetsTheDefaults() {
        // an H200: 1024 work-items per group, 48 KiB of local memory by default
        assertThat(Tiles.fit(1024, 48 * 1024, 64)).isEqualTo(Tiles.DEFAULT);
        assertThat(Tiles.DEFAULT.gemmGroup()).isEqualTo(256);
        assertThat(Tiles.DEFAULT.gemmLocalBytes()).isEqualTo(4L * 16 * (65 + 65));
        assertThat(Tiles.DEFAULT.flashLocalBytes(64)).isEqualTo(4L * 2 * 32 * 64);
    }

    @Test
    void smallerLimitsHalveTheTilesUntilTheyFit() {
        // 128 work-items per group: GEMM groups of 16x8, 64 queries still fit
        assertThat(Tiles.fit(128, 64 * 1024, 64)).isEqualTo(new Tiles(16, 8, 16, 64, 32));
        // 32 work-items and 16 KiB: 8x4 GEMM groups, 32 queries; flash's keys for 128-dimensional heads halved to 8
        Tiles small = Tiles.fit(32, 16 * 1024, 128);
        assertThat(small).isEqualTo(new Tiles(8, 4, 16, 32, 8));
        assertThat(small.gemmGroup()).isLessThanOrEqualTo(32);
        assertThat(Math.max(small.gemmLocalBytes(), small.flashLocalBytes(128))).isLessThanOrEqualTo(8 * 1024);
        // 4 KiB of local memory: the GEMM's step shrinks too
        Tiles tiny = Tiles.fit(256, 4 * 1024, 64);
        assertThat(tiny.gemmLocalBytes()).isLessThanOrEqualTo(2 * 1024);
        assertThat(tiny.flashLocalBytes(64)).isLessThanOrEqualTo(2 * 1024);
    }

    @Test
    void tilesAreWrittenAsTheOptionTakesThem() {
        assertThat(Tiles.parse("16x16x16,64x32")).isEqualTo(Tiles.DEFAULT);
        assertThat(Tiles.parse(" 8X4x8 , 16x8 ")).isEqualTo(new Tiles(8, 4, 8, 16, 8));
        assertThat(Tiles.parse(Tiles.DEFAULT.toString())).isEqualTo(Tiles.DEFAULT);
        for (String bad : new String[] {"16x16", "16x16x16", "16x16x16,64", "axbxc,dxe", "16x16x16,64x32,1", ""}) {
            assertThatThrownBy(() -> Tiles.parse(bad)).as(bad).isInstanceOf(VitException.class)
                    .hasMessageContaining("are not GXxGYxGK,QxKV");
        }
        assertThatThrownBy(() -> Tiles.parse("64x16x16,64x32")).isInstanceOf(VitException.class)
                .hasMessageContaining("out of range");
        assertThatThrownBy(() -> Tiles.parse("16x16x0,64x32")).isInstanceOf(VitException.class)
                .hasMessageContaining("out of range");
    }
}
