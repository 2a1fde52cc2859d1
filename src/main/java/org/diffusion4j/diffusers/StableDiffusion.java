package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.guidance.ClassifierFreeGuidance;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.text.PromptEncoder;
import org.diffusion4j.model.unet.UNet2DConditionModel;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.tensor.Tensors;

/**
 * A diffusers {@code StableDiffusionPipeline} folder: prompt encoder, conditional U-Net, VAE and scheduler config,
 * run as diffusers runs text-to-image. Classifier-free guidance (when the scale is above 1) batches the prompt and
 * the negative prompt ("" when none) through one U-Net pass per step.
 */
public record StableDiffusion(PromptEncoder text, UNet2DConditionModel unet, DiffusersVae vae, String schedulerClass,
                              JsonNode schedulerConfig) {
    /** Loads {@code model_index.json}, {@code tokenizer/}, {@code text_encoder/}, {@code unet/}, {@code vae/} and the scheduler config. */
    public static StableDiffusion load(Path dir) throws IOException {
        Path index = dir.resolve("model_index.json");
        JsonNode idx = Json.readFile(index);
        String cls = idx.path("_class_name").asText("");
        if (!cls.equals("StableDiffusionPipeline")) {
            throw new IOException(index + ": _class_name '" + cls + "' is not StableDiffusionPipeline");
        }
        Path sched = dir.resolve("scheduler").resolve("scheduler_config.json");
        JsonNode sc = Json.readFile(sched);
        return new StableDiffusion(PromptEncoder.load(dir), UNet2DConditionModel.load(dir.resolve("unet")),
                DiffusersVae.load(dir.resolve("vae")), sc.path("_class_name").asText(""), sc);
    }

    /**
     * @param latents  the starting noise, standard normal [B, 4, h, w] (diffusers' {@code latents} argument, before
     *                 its {@code init_noise_sigma})
     * @param scheduler a scheduler config to use instead of the folder's, or null
     * @return the decoded images [B, 3, 8h, 8w], unclamped (the data range is [-1, 1])
     */
    public Tensor generate(String prompt, String negativePrompt, double guidance, int steps, Tensor latents,
                           String schedulerClassName, JsonNode scheduler, long seed) {
        try (NoGradGuard guard = new NoGradGuard()) {
            long b = latents.size(0);
            boolean cfg = guidance > 1;
            Tensor embeddings = cfg ? text.encode(List.of(prompt, negativePrompt == null ? "" : negativePrompt), 0)
                    : text.encode(List.of(prompt), 0);
            DiffusersScheduler s = DiffusersScheduler.of(schedulerClassName != null ? schedulerClassName
                    : schedulerClass, scheduler != null ? scheduler : schedulerConfig, steps, null, null);
            Network net = new Network() {
                @Override
                public Tensor forward(Tensor x, Tensor t, Tensor labels) {
                    Tensor rows = labels != null ? labels
                            : torch.zeros(x.size(0)).to(torch.ScalarType.Long);
                    return unet.forward(x, t, embeddings.index_select(0, rows));
                }

                @Override
                public Module module() {
                    return unet;
                }
            };
            NetworkDenoiser d = new NetworkDenoiser(net, s.prediction());
            Denoiser guided = cfg ? new ClassifierFreeGuidance(d, 0, 1, Guidance.of(guidance)) : d;
            Tensor xT = latents.mul(Tensors.scalar(s.initNoiseSigma() * s.stateScale(s.levels().get(0))));
            Tensor x = s.sample(guided, xT, NoiseSource.perSample(seed, 0, (int) b), StepListener.NONE);
            Tensor z = x.div(Tensors.scalar(s.stateScale(s.levels().get(s.levels().size() - 1))));
            return vae.vae().decode(z.div(Tensors.scalar(vae.scalingFactor())));
        }
    }
}
