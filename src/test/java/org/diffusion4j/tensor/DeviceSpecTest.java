package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class DeviceSpecTest {
    @Test
    void parsesPyTorchDeviceNames() {
        assertThat(DeviceSpec.parse("cpu", "--device")).isEqualTo(DeviceSpec.CPU);
        assertThat(DeviceSpec.parse(" CUDA ", "--device")).isEqualTo(new DeviceSpec("cuda", 0));
        assertThat(DeviceSpec.parse("cuda:3", "--device")).isEqualTo(new DeviceSpec("cuda", 3));
        assertThat(DeviceSpec.parse("cuda:3", "--device").toString()).isEqualTo("cuda:3");
        assertThat(DeviceSpec.CPU.isCpu()).isTrue();
        assertThat(new DeviceSpec("cuda", 1).isCpu()).isFalse();
    }

    @Test
    void rejectsOtherNamesNamingTheOption() {
        for (String bad : new String[] {"gpu", "cuda:", "cuda:-1", "cuda:x", "cpu:1", "", "mps"}) {
            assertThatThrownBy(() -> DeviceSpec.parse(bad, "--device"))
                    .hasMessageContaining("--device: unknown device '" + bad + "'")
                    .hasMessageContaining("cpu, cuda or cuda:N");
        }
        assertThatThrownBy(() -> DeviceSpec.parse(null, "--device")).hasMessageContaining("--device");
        assertThatThrownBy(() -> new DeviceSpec("cpu", 1)).hasMessageContaining("bad device index 1");
        assertThatThrownBy(() -> new DeviceSpec("tpu", 0)).hasMessageContaining("unknown device type 'tpu'");
    }

    @Test
    void cudaIsRefusedWithTheFixWhenThisBuildHasNone() {
        assertThat(DeviceSpec.CPU.requireAvailable("--device")).isEqualTo(DeviceSpec.CPU);
        Torch.init();
        assumeFalse(torch.cuda_is_available(), "this machine has CUDA");
        assertThatThrownBy(() -> DeviceSpec.parse("cuda:1", "--device").requireAvailable("--device"))
                .hasMessageContaining("--device cuda:1: CUDA is not available")
                .hasMessageContaining("mvn -Pgpu package");
    }

    @Test
    void tensorsMoveAndReportTheirDevice() {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = Tensors.fromFloats(new float[] {1, 2}, 2);
            assertThat(DeviceSpec.of(t)).isEqualTo(DeviceSpec.CPU);
            // Already there: the same storage, no copy.
            assertThat(DeviceSpec.CPU.put(t).data_ptr().address()).isEqualTo(t.data_ptr().address());
            Tensor meta = t.to(new Device("meta"), torch.ScalarType.Float);
            assertThat(DeviceSpec.optionsLike(meta, torch.ScalarType.Long).device().is_meta()).isTrue();
            assertThatThrownBy(() -> DeviceSpec.of(meta)).hasMessageContaining("unsupported device meta");
            assertThat(torch.zeros(new long[] {3}, DeviceSpec.CPU.options(torch.ScalarType.Double)).scalar_type().value)
                    .isEqualTo(torch.ScalarType.Double.value);
        }
    }
}
