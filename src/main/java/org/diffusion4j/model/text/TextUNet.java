package org.diffusion4j.model.text;

import java.util.List;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.model.Init;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.unet.Layers;
import org.diffusion4j.model.unet.UNet2DConditionModel;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;

/**
 * The network of a {@link TextUNetConfig}: the prompt's token ids through the text encoder, whose last hidden state
 * the U-Net attends to. Trained jointly; parameters are named {@code text_encoder.*} and {@code unet.*} after the
 * folders of a diffusers pipeline, each part under transformers' or diffusers' own names.
 */
public final class TextUNet extends Layers.Node implements Network {
    private final TextUNetConfig config;
    private final ClipTextModel text;
    private final UNet2DConditionModel unet;
    private final ClipTokenizer tokenizer;

    /** @param rng initialises the weights as PyTorch's defaults do; null leaves them as constructed (zeros). */
    TextUNet(TextUNetConfig config, Rng rng) {
        this.config = config;
        this.text = register_module("text_encoder", new ClipTextModel(config.textEncoder()));
        this.unet = register_module("unet", new UNet2DConditionModel(config.unet()));
        this.tokenizer = config.tokenizer();
        if (rng != null) {
            Init.pytorchDefault(this, rng);
        }
        Scopes.detach(this);
    }

    public TextUNetConfig config() {
        return config;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipTextModel textEncoder() {
        return text;
    }

    public UNet2DConditionModel unet() {
        return unet;
    }

    /** int64 [n, 77]: each prompt as the pipeline feeds the text encoder (start, ids, end, padding). */
    public Tensor ids(List<String> prompts) {
        long[] ids = new long[prompts.size() * ClipTokenizer.MAX_LENGTH];
        for (int i = 0; i < prompts.size(); i++) {
            int[] row = tokenizer.encodePadded(prompts.get(i)).ids();
            for (int j = 0; j < row.length; j++) {
                ids[i * ClipTokenizer.MAX_LENGTH + j] = row[j];
            }
        }
        return torch.tensor(ids).view(prompts.size(), ClipTokenizer.MAX_LENGTH);
    }

    /**
     * @param x      latents [B, C, H, W]
     * @param t      timesteps [B]
     * @param tokens int64 token ids [B, 77] ({@link #ids}), or null for the empty prompt (the unconditional pass of
     *               classifier-free guidance, which training drops captions to)
     * @return [B, C, H, W]
     */
    @Override
    public Tensor forward(Tensor x, Tensor t, Tensor tokens) {
        long b = x.size(0);
        if (tokens == null) {
            tokens = ids(List.of("")).to(x.device(), torch.ScalarType.Long).expand(b, ClipTokenizer.MAX_LENGTH);
        }
        Shapes.require(tokens, "token ids", b, ClipTokenizer.MAX_LENGTH);
        if (tokens.scalar_type().value != torch.ScalarType.Long.value) {
            throw new IllegalArgumentException("token ids must be int64, got " + tokens.scalar_type());
        }
        Tensor context = text.forward(tokens, null).lastHiddenState();
        return unet.forward(x, t, context);
    }

    @Override
    public Module module() {
        return this;
    }
}
