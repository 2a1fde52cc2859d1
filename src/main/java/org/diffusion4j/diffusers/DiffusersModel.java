package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.unet.DiffusersConfig;
import org.diffusion4j.model.unet.UNet2DModel;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Rng;

/**
 * A diffusers-format model folder loaded for sampling: either a UNet2DModel folder ({@code config.json} +
 * {@code diffusion_pytorch_model.safetensors}, optionally with {@code scheduler_config.json} beside it) or a pipeline
 * folder with {@code unet/} and {@code scheduler/} subfolders, as google/ddpm-cifar10-32 and google/ddpm-celebahq-256
 * are laid out. The scheduler config gives the training schedule and the prediction type; without one, DDPM's
 * defaults (linear betas 1e-4 to 0.02 over 1000 steps, epsilon) apply. Pickled weights (.bin) are refused.
 *
 * @param network   the U-Net with the folder's weights, in eval mode
 * @param denoiser  the network read through the scheduler's prediction type
 * @param schedule  the training schedule from the scheduler config
 * @param scheduler the scheduler config file used, or null
 */
public record DiffusersModel(UNet2DModel network, NetworkDenoiser denoiser, NoiseSchedule schedule, Path weights,
                             Path scheduler) implements SamplableModel {

    /** Old diffusers attention names, renamed on load as diffusers itself does. */
    private static final Map<String, String> DEPRECATED = Map.of(".query.", ".to_q.", ".key.", ".to_k.", ".value.",
            ".to_v.", ".proj_attn.", ".to_out.0.");

    /** DDPM on the scheduler's training schedule. */
    @Override
    public DiffusionProcess process() {
        return new DiffusionProcess.Ddpm(schedule);
    }

    /** 0: diffusers folders are sampled unconditionally (their class embeddings have no "no class" label). */
    @Override
    public int numClasses() {
        return 0;
    }

    /** "diffusers:" and the folder. */
    @Override
    public String outputData() {
        return "diffusers:" + weights.getParent();
    }

    @Override
    public String prediction() {
        return denoiser.parameterization().id();
    }

    @Override
    public NetworkConfig networkConfig() {
        return network.config();
    }

    /** One sample's shape, [C, H, W]. */
    @Override
    public long[] sampleShape() {
        UNetConfig c = network.config();
        return new long[] {c.inChannels(), c.sampleSize(), c.sampleSize()};
    }

    /** As {@link #load(Path)}, with the network on {@code device}. */
    public static DiffusersModel load(Path dir, DeviceSpec device) throws IOException {
        DiffusersModel m = load(dir);
        m.network().moveTo(device);
        return m;
    }

    /**
     * @throws IOException naming the folder and the file that is missing or unreadable
     */
    public static DiffusersModel load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a folder (expected a diffusers model folder)");
        }
        Path unetDir = Files.isRegularFile(dir.resolve("unet").resolve("config.json")) ? dir.resolve("unet") : dir;
        Path config = unetDir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new IOException(dir + ": no config.json (nor unet/config.json)");
        }
        Path weights = unetDir.resolve("diffusion_pytorch_model.safetensors");
        if (!Files.isRegularFile(weights)) {
            if (Files.exists(unetDir.resolve("diffusion_pytorch_model.bin"))) {
                throw new IOException(unetDir + ": only diffusion_pytorch_model.bin (a pickle) is present; pickles are "
                        + "refused because loading one can run code. Convert it to safetensors first");
            }
            throw new IOException(unetDir + ": diffusion_pytorch_model.safetensors is missing");
        }
        Path scheduler = null;
        for (Path p : new Path[] {dir.resolve("scheduler").resolve("scheduler_config.json"),
                unetDir.resolve("scheduler_config.json")}) {
            if (Files.isRegularFile(p)) {
                scheduler = p;
                break;
            }
        }
        UNetConfig cfg = DiffusersConfig.read(Json.readFile(config), config.toString());
        DiffusersScheduler sched = scheduler == null
                ? DiffusersScheduler.of("DDPMScheduler", Json.MAPPER.createObjectNode(), 10, null, null)
                : readScheduler(scheduler);
        if (sched.schedule() == null) {
            throw new IllegalArgumentException(scheduler + ": " + sched.className() + " models have no DDPM training "
                    + "schedule; --diffusers samples DDPM-style models");
        }
        // The header first: a config that does not match the weights (or asks for more memory than there is) is
        // refused before the network is built.
        Safetensors.Header header = Safetensors.readHeader(weights);
        ParameterShapes shapes = cfg.parameterShapes();
        shapes.requireMatch(header.shapes(DiffusersModel::currentName), "", weights.toString());
        shapes.requireLoadable(header.dataBytes(), weights.toString());
        UNet2DModel net = new UNet2DModel(cfg, Rng.of(0));
        Map<String, Tensor> tensors = renameDeprecated(Safetensors.read(weights).tensors());
        Parameters.load(net, tensors, weights.toString());
        net.eval();
        return new DiffusersModel(net, new NetworkDenoiser(net, sched.prediction()), sched.schedule(), weights,
                scheduler);
    }

    /** Reads a scheduler config strictly, after mapping keys only very old diffusers wrote. */
    private static DiffusersScheduler readScheduler(Path file) throws IOException {
        JsonNode json = Json.readFile(file);
        if (!json.isObject()) {
            throw new IllegalArgumentException(file + ": a scheduler config must be a JSON object");
        }
        ObjectNode c = (ObjectNode) json.deepCopy();
        String cls = c.path("_class_name").asText("DDPMScheduler");
        c.remove("tensor_format");
        JsonNode predictEps = c.remove("predict_epsilon");
        if (predictEps != null && !c.has("prediction_type")) {
            c.put("prediction_type", predictEps.asBoolean(true) ? "epsilon" : "sample");
        }
        try {
            return DiffusersScheduler.of(cls, c, 10, null, null);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Old attention parameter names (query, key, value, proj_attn) under their current ones, as diffusers renames them. */
    static Map<String, Tensor> renameDeprecated(Map<String, Tensor> tensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(currentName(k), v));
        return out;
    }

    /** A tensor's name as current diffusers writes it. */
    private static String currentName(String name) {
        if (!name.contains("attentions.")) {
            return name;
        }
        for (Map.Entry<String, String> r : DEPRECATED.entrySet()) {
            name = name.replace(r.getKey(), r.getValue());
        }
        return name;
    }

    /** The training schedule's config (for reports). */
    public ScheduleConfig scheduleConfig() {
        return schedule.config();
    }
}
