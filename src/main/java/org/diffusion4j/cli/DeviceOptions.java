package org.diffusion4j.cli;

import org.diffusion4j.tensor.DeviceSpec;
import picocli.CommandLine.Option;

/** {@code --device}: where the model and its tensors live. */
final class DeviceOptions {
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N. cuda needs the GPU build "
            + "(mvn -Pgpu package) and an NVIDIA GPU; results are written the same way (default: ${DEFAULT-VALUE}).")
    String device;

    /** The parsed device, checked to exist on this machine. */
    DeviceSpec toDevice() {
        return DeviceSpec.parse(device, "--device").requireAvailable("--device");
    }
}
