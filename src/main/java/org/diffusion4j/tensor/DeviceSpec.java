package org.diffusion4j.tensor;

import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Where tensors live: {@code cpu}, {@code cuda} (device 0) or {@code cuda:N}, as PyTorch spells them. Code that
 * creates tensors takes the device from an input tensor or from one of these; nothing assumes the CPU.
 *
 * @param type  "cpu" or "cuda"
 * @param index the CUDA device index (0 for the CPU)
 */
public record DeviceSpec(String type, int index) {
    /** The CPU. */
    public static final DeviceSpec CPU = new DeviceSpec("cpu", 0);

    public DeviceSpec {
        if (!"cpu".equals(type) && !"cuda".equals(type)) {
            throw new IllegalArgumentException("unknown device type '" + type + "' (use cpu or cuda)");
        }
        if (index < 0 || ("cpu".equals(type) && index != 0)) {
            throw new IllegalArgumentException("bad device index " + index + " for " + type);
        }
    }

    /**
     * Parses {@code cpu}, {@code cuda} or {@code cuda:N}.
     *
     * @param option names the option in errors, e.g. "--device"
     */
    public static DeviceSpec parse(String text, String option) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return CPU;
        }
        if (s.equals("cuda")) {
            return new DeviceSpec("cuda", 0);
        }
        if (s.startsWith("cuda:")) {
            try {
                int i = Integer.parseInt(s.substring(5));
                if (i >= 0) {
                    return new DeviceSpec("cuda", i);
                }
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException(option + ": unknown device '" + text + "' (use cpu, cuda or cuda:N)");
    }

    /** True for the CPU. */
    public boolean isCpu() {
        return "cpu".equals(type);
    }

    /**
     * Fails unless this device can be used here: the CUDA build on a machine with enough GPUs.
     *
     * @param option names the option in errors
     * @return this
     */
    public DeviceSpec requireAvailable(String option) {
        if (isCpu()) {
            return this;
        }
        Torch.init();
        if (!torch.cuda_is_available()) {
            throw new IllegalArgumentException(option + " " + this + ": CUDA is not available. This needs the GPU "
                    + "build (mvn -Pgpu package; see the README's GPU build section), an NVIDIA driver and a GPU");
        }
        int count = torch.cuda_device_count();
        if (index >= count) {
            throw new IllegalArgumentException(option + " " + this + ": there " + (count == 1 ? "is 1 CUDA device"
                    : "are " + count + " CUDA devices") + " (indices from 0)");
        }
        return this;
    }

    /** The libtorch device. */
    public Device torch() {
        return isCpu() ? new Device("cpu") : new Device("cuda:" + index);
    }

    /** Tensor options of {@code dtype} on this device. */
    public TensorOptions options(torch.ScalarType dtype) {
        return new TensorOptions(dtype).device(new DeviceOptional(torch()));
    }

    /** Tensor options of {@code dtype} on the device {@code like} lives on (CPU, CUDA or meta). */
    public static TensorOptions optionsLike(Tensor like, torch.ScalarType dtype) {
        return new TensorOptions(dtype).device(new DeviceOptional(like.device()));
    }

    /** {@code t} on this device: itself when it is there already (libtorch's {@code to} does not copy then). */
    public Tensor put(Tensor t) {
        return t.to(torch(), t.scalar_type());
    }

    /** The device of {@code t}, which must be the CPU or CUDA. */
    public static DeviceSpec of(Tensor t) {
        if (t.is_cpu()) {
            return CPU;
        }
        if (t.is_cuda()) {
            return new DeviceSpec("cuda", Math.max(0, t.device().index()));
        }
        throw new IllegalArgumentException("tensor on unsupported device " + t.device().str().getString());
    }

    @Override
    public String toString() {
        return isCpu() ? "cpu" : "cuda:" + index;
    }
}
