package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.model.dit.DiTConfig;
import org.diffusion4j.model.dit.DiTTransformer2DModel;
import org.diffusion4j.model.text.ClipTextConfig;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.model.unet.UNet2DConditionConfig;
import org.diffusion4j.schedule.ScheduleConfig;

/**
 * Writes a latent model trained here as a diffusers pipeline folder (a text-conditioned U-Net as a {@code
 * StableDiffusionPipeline}, a DiT as a {@code DiTPipeline}): the
 * layout, config keys and parameter names diffusers and transformers save, so that {@link StableDiffusion} (and
 * diffusers' {@code from_pretrained}) load it. The autoencoder's padding of images to its latent grid is not a
 * diffusers notion: the folder's VAE takes and gives images of the padded size.
 */
public final class PipelineExport {
    /** The diffusers version whose folder layout this writes. */
    static final String DIFFUSERS_VERSION = "0.31.0";

    private PipelineExport() {}

    /**
     * @param out           the folder to create; written beside it first, then moved into place, so a failure leaves
     *                      no partial folder under this name. Must not exist.
     * @param network       the trained network, with the weights to export (load the EMA first)
     * @param vae           the autoencoder of its latents
     * @param scalingFactor the latents' scale (diffusers' {@code scaling_factor})
     * @param prediction    epsilon, v or sample (the DDPM objectives diffusers' schedulers know)
     * @throws IOException if {@code out} exists or a write fails
     */
    public static void write(Path out, TextUNet network, AutoencoderKL vae, double scalingFactor,
                             ScheduleConfig schedule, Parameterization prediction) throws IOException {
        String predictionType = predictionType(prediction, "StableDiffusionPipeline");
        staged(out, dir -> writeComponents(dir, network, vae, scalingFactor, schedule, predictionType));
    }

    /**
     * Writes a class-conditional latent DiT trained here as a diffusers {@code DiTPipeline} folder (transformer/,
     * vae/, scheduler/), which {@link DiTPipeline} and diffusers load. Its "no class" row is index
     * num_embeds_ada_norm, where diffusers' pipeline hard-codes 1000: diffusers itself guides such a folder correctly
     * only for 1000 classes, diffusion4j for any number.
     *
     * @see #write(Path, TextUNet, AutoencoderKL, double, ScheduleConfig, Parameterization)
     */
    public static void write(Path out, DiTTransformer2DModel network, AutoencoderKL vae, double scalingFactor,
                             ScheduleConfig schedule, Parameterization prediction) throws IOException {
        String predictionType = predictionType(prediction, "DiTPipeline");
        staged(out, dir -> {
            ObjectNode index = Json.MAPPER.createObjectNode().put("_class_name", "DiTPipeline")
                    .put("_diffusers_version", DIFFUSERS_VERSION);
            index.putArray("scheduler").add("diffusers").add(SCHEDULER);
            index.putArray("transformer").add("diffusers").add("DiTTransformer2DModel");
            index.putArray("vae").add("diffusers").add("AutoencoderKL");
            json(dir.resolve("model_index.json"), index);
            DiTConfig c = network.config();
            ObjectNode config = Json.MAPPER.createObjectNode().put("_class_name", "DiTTransformer2DModel")
                    .put("_diffusers_version", DIFFUSERS_VERSION).put("activation_fn", "gelu-approximate")
                    .put("attention_bias", true).put("attention_head_dim", c.attentionHeadDim()).put("dropout", 0.0)
                    .put("in_channels", c.inChannels()).put("norm_elementwise_affine", false)
                    .put("norm_eps", c.normEps()).put("norm_num_groups", 32).put("norm_type", "ada_norm_zero")
                    .put("num_attention_heads", c.numAttentionHeads()).put("num_embeds_ada_norm", c.numEmbedsAdaNorm())
                    .put("num_layers", c.numLayers()).put("out_channels", c.outChannels())
                    .put("patch_size", c.patchSize()).put("sample_size", c.sampleSize())
                    .put("upcast_attention", false);
            try (PointerScope scope = new PointerScope()) {
                Files.createDirectories(dir.resolve("transformer"));
                json(dir.resolve("transformer/config.json"), config);
                Safetensors.write(dir.resolve("transformer/diffusion_pytorch_model.safetensors"), tensors(network),
                        Map.of("format", "pt"));
                writeVae(dir, vae, scalingFactor);
            }
            writeScheduler(dir, schedule, predictionType);
        });
    }

    /** diffusers' prediction_type of a DDPM objective; flow and EDM models have no such scheduler. */
    private static String predictionType(Parameterization prediction, String pipeline) {
        return switch (prediction) {
            case EPS -> "epsilon";
            case V -> "v_prediction";
            case X0 -> "sample";
            case FLOW, EDM -> throw new IllegalArgumentException("a " + prediction.name().toLowerCase()
                    + " model has no diffusers " + pipeline + " scheduler: export DDPM-objective models "
                    + "(epsilon, v_prediction, sample)");
        };
    }

    /** Writes into a folder beside {@code out}, then moves it into place: a failure leaves nothing under the name. */
    private static void staged(Path out, Writer writer) throws IOException {
        if (Files.exists(out)) {
            throw new IOException(out + ": already exists");
        }
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path staging = AtomicFiles.tempSibling(out.toAbsolutePath());
        try {
            Files.createDirectory(staging);
            writer.write(staging);
            Files.move(staging, out, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            AtomicFiles.deleteTree(staging);
        }
    }

    @FunctionalInterface
    private interface Writer {
        void write(Path dir) throws IOException;
    }

    /** The scheduler every exported pipeline gets (DPM-Solver++ 2M; others replace it with --scheduler). */
    private static final String SCHEDULER = "DPMSolverMultistepScheduler";

    private static Map<String, Tensor> tensors(Module module) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        StringTensorDict params = module.named_parameters(true);
        for (long i = 0; i < params.size(); i++) {
            out.put(params.get(i).key().getString(), params.get(i).value().detach().contiguous());
        }
        return out;
    }

    private static void writeVae(Path dir, AutoencoderKL vae, double scalingFactor) throws IOException {
        Files.createDirectories(dir.resolve("vae"));
        json(dir.resolve("vae/config.json"), vaeConfig(vae.config(), scalingFactor));
        Safetensors.write(dir.resolve("vae/diffusion_pytorch_model.safetensors"), tensors(vae), Map.of("format", "pt"));
    }

    private static void writeComponents(Path dir, TextUNet network, AutoencoderKL vae, double scalingFactor,
                                        ScheduleConfig schedule, String predictionType) throws IOException {
        String scheduler = SCHEDULER;
        ObjectNode index = Json.MAPPER.createObjectNode().put("_class_name", "StableDiffusionPipeline")
                .put("_diffusers_version", DIFFUSERS_VERSION);
        index.putArray("feature_extractor").addNull().addNull();
        index.putArray("image_encoder").addNull().addNull();
        index.put("requires_safety_checker", false);
        index.putArray("safety_checker").addNull().addNull();
        index.putArray("scheduler").add("diffusers").add(scheduler);
        index.putArray("text_encoder").add("transformers").add("CLIPTextModel");
        index.putArray("tokenizer").add("transformers").add("CLIPTokenizer");
        index.putArray("unet").add("diffusers").add("UNet2DConditionModel");
        index.putArray("vae").add("diffusers").add("AutoencoderKL");
        json(dir.resolve("model_index.json"), index);

        Map<String, Tensor> unet = new LinkedHashMap<>();
        Map<String, Tensor> text = new LinkedHashMap<>();
        try (PointerScope scope = new PointerScope()) {
            StringTensorDict params = network.named_parameters(true);
            for (long i = 0; i < params.size(); i++) {
                String name = params.get(i).key().getString();
                Tensor t = params.get(i).value().detach().contiguous();
                if (name.startsWith("unet.")) {
                    unet.put(name.substring("unet.".length()), t);
                } else if (name.startsWith("text_encoder.")) {
                    text.put(name.substring("text_encoder.".length()), t);
                } else {
                    throw new IllegalStateException("parameter '" + name + "' belongs to no pipeline component");
                }
            }
            Files.createDirectories(dir.resolve("unet"));
            json(dir.resolve("unet/config.json"), unetConfig(network.config().unet()));
            Safetensors.write(dir.resolve("unet/diffusion_pytorch_model.safetensors"), unet, Map.of("format", "pt"));
            Files.createDirectories(dir.resolve("text_encoder"));
            json(dir.resolve("text_encoder/config.json"), textConfig(network.config().textEncoder(),
                    network.tokenizer().startId()));
            Safetensors.write(dir.resolve("text_encoder/model.safetensors"), text, Map.of("format", "pt"));
            network.tokenizer().save(dir.resolve("tokenizer"));

            writeVae(dir, vae, scalingFactor);
        }
        writeScheduler(dir, schedule, predictionType);
    }

    private static void writeScheduler(Path dir, ScheduleConfig schedule, String predictionType) throws IOException {
        String scheduler = SCHEDULER;
        Files.createDirectories(dir.resolve("scheduler"));
        ObjectNode s = Json.MAPPER.createObjectNode().put("_class_name", scheduler)
                .put("_diffusers_version", DIFFUSERS_VERSION)
                .put("num_train_timesteps", schedule.numTrainTimesteps())
                .put("beta_schedule", schedule.betaSchedule().id())
                .put("beta_start", schedule.betaStart()).put("beta_end", schedule.betaEnd())
                .put("prediction_type", predictionType)
                .put("algorithm_type", "dpmsolver++").put("solver_order", 2).put("solver_type", "midpoint")
                .put("lower_order_final", true).put("timestep_spacing", "linspace").put("steps_offset", 0)
                .put("rescale_betas_zero_snr", schedule.rescaleZeroTerminalSnr());
        s.putNull("trained_betas");
        json(dir.resolve("scheduler/scheduler_config.json"), s);
    }

    /** diffusers' UNet2DConditionModel config.json for {@code c}. */
    static ObjectNode unetConfig(UNet2DConditionConfig c) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("_class_name", "UNet2DConditionModel")
                .put("_diffusers_version", DIFFUSERS_VERSION).put("act_fn", "silu");
        ints(o.putArray("attention_head_dim"), c.heads());
        ints(o.putArray("block_out_channels"), c.blockOutChannels());
        o.put("center_input_sample", false).put("cross_attention_dim", c.crossAttnDim());
        strings(o.putArray("down_block_types"), c.downBlockTypes());
        o.put("downsample_padding", c.downsamplePadding()).put("flip_sin_to_cos", c.flipSinToCos())
                .put("freq_shift", c.freqShift()).put("in_channels", c.inChannels())
                .put("layers_per_block", c.layersPerBlock()).put("mid_block_scale_factor", 1)
                .put("mid_block_type", "UNetMidBlock2DCrossAttn").put("norm_eps", c.normEps())
                .put("norm_num_groups", c.normNumGroups());
        ArrayNode only = o.putArray("only_cross_attention");
        c.onlyCross().forEach(only::add);
        o.put("out_channels", c.outChannels()).put("sample_size", c.sampleSize());
        strings(o.putArray("up_block_types"), c.upBlockTypes());
        o.put("upcast_attention", c.upcast()).put("use_linear_projection", c.linearProj());
        return o;
    }

    /** transformers' CLIPTextConfig config.json for {@code c}. */
    static ObjectNode textConfig(ClipTextConfig c, int bosTokenId) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.putArray("architectures").add("CLIPTextModel");
        return o.put("attention_dropout", 0.0).put("bos_token_id", bosTokenId).put("eos_token_id", c.eosTokenId())
                .put("hidden_act", c.hiddenAct()).put("hidden_size", c.hiddenSize())
                .put("initializer_factor", 1.0).put("initializer_range", 0.02)
                .put("intermediate_size", c.intermediateSize()).put("layer_norm_eps", c.layerNormEps())
                .put("max_position_embeddings", c.maxPositionEmbeddings()).put("model_type", "clip_text_model")
                .put("num_attention_heads", c.numAttentionHeads()).put("num_hidden_layers", c.numHiddenLayers())
                .put("pad_token_id", c.eosTokenId()).put("projection_dim", c.hiddenSize())
                .put("torch_dtype", "float32").put("vocab_size", c.vocabSize());
    }

    /** diffusers' AutoencoderKL config.json: its sample_size is the padded size, which it takes and gives. */
    static ObjectNode vaeConfig(AutoencoderConfig c, double scalingFactor) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("_class_name", "AutoencoderKL")
                .put("_diffusers_version", DIFFUSERS_VERSION).put("act_fn", "silu");
        ints(o.putArray("block_out_channels"), c.blockOutChannels());
        ArrayNode down = o.putArray("down_block_types");
        ArrayNode up = o.putArray("up_block_types");
        for (int i = 0; i < c.blockOutChannels().size(); i++) {
            down.add("DownEncoderBlock2D");
            up.add("UpDecoderBlock2D");
        }
        boolean quant = c.useQuantConv() == null || c.useQuantConv();
        return o.put("force_upcast", false).put("in_channels", c.inChannels())
                .put("latent_channels", c.latentChannels()).put("layers_per_block", c.layersPerBlock())
                .put("mid_block_add_attention", true).put("norm_num_groups", c.normNumGroups())
                .put("out_channels", c.inChannels()).put("sample_size", c.paddedSize())
                .put("scaling_factor", scalingFactor).put("use_post_quant_conv", quant).put("use_quant_conv", quant);
    }

    private static void ints(ArrayNode a, List<Integer> v) {
        v.forEach(a::add);
    }

    private static void strings(ArrayNode a, List<String> v) {
        v.forEach(a::add);
    }

    private static void json(Path file, ObjectNode node) throws IOException {
        Files.write(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(node));
    }
}
