package org.diffusion4j.model.text;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.ModelFolder;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.unet.Layers;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * transformers' {@code CLIPTextModel}, the text encoder of Stable Diffusion: token and position embeddings,
 * pre-LayerNorm transformer layers with causal self-attention and a quick_gelu or gelu MLP, and a final LayerNorm.
 * Parameter names are transformers' ({@code text_model.encoder.layers.0.self_attn.q_proj.weight}, ...), so a
 * {@code text_encoder/model.safetensors} loads as it is.
 */
public final class ClipTextModel extends Layers.Node {
    /** float32's lowest value: transformers' additive mask for positions a token may not attend to. */
    private static final double MASKED = -3.4028234663852886e38;

    private final ClipTextConfig config;
    private final Tensor tokenEmbedding;
    private final Tensor positionEmbedding;
    private final List<EncoderLayer> layers = new ArrayList<>();
    private final LayerNorm finalLayerNorm;

    /** Built with zero weights: load them with {@link #load} or {@link Parameters#load}. */
    public ClipTextModel(ClipTextConfig config) {
        this.config = config;
        int d = config.hiddenSize();
        Module text = container(this, "text_model");
        Module embeddings = container(text, "embeddings");
        Module token = container(embeddings, "token_embedding");
        tokenEmbedding = param(token, "weight", torch.zeros(config.vocabSize(), d));
        Module position = container(embeddings, "position_embedding");
        positionEmbedding = param(position, "weight", torch.zeros(config.maxPositionEmbeddings(), d));
        Module encoderLayers = container(container(text, "encoder"), "layers");
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(encoderLayers.register_module(Integer.toString(i), new EncoderLayer(config)));
        }
        finalLayerNorm = text.register_module("final_layer_norm", new LayerNorm(d, config.layerNormEps()));
    }

    private static Tensor param(Module m, String name, Tensor init) {
        return Scopes.detach(new Tensor(m.register_parameter(name, init)));
    }

    public ClipTextConfig config() {
        return config;
    }

    /**
     * Loads a transformers {@code text_encoder/} folder: {@code config.json} and {@code model.safetensors}, every
     * parameter present with its shape and nothing else (the {@code position_ids} buffer older files carry is
     * skipped, as transformers does).
     */
    public static ClipTextModel load(Path folder) throws IOException {
        Path weights = folder.resolve("model.safetensors");
        Path config = folder.resolve("config.json");
        ModelFolder.require(folder, "model.safetensors", "pytorch_model.bin", "a CLIP text encoder");
        ClipTextModel model = new ClipTextModel(ClipTextConfig.read(config));
        Map<String, Tensor> tensors = new LinkedHashMap<>(Safetensors.read(weights).tensors());
        tensors.remove("text_model.embeddings.position_ids");
        Parameters.load(model, tensors, weights.toString());
        model.eval();
        return model;
    }

    /**
     * @param lastHiddenState [B, L, D]: the final LayerNorm of the last layer's output (SD's prompt embeddings)
     * @param pooled          [B, D]: lastHiddenState at each row's end token
     * @param hiddenStates    the embeddings and every layer's output, L + 1 tensors [B, L, D], no final LayerNorm
     */
    public record Output(Tensor lastHiddenState, Tensor pooled, List<Tensor> hiddenStates) {
        /** The final LayerNorm of the output {@code skip} layers before the last: diffusers' {@code clip_skip}. */
        public Tensor skipped(ClipTextModel model, int skip) {
            if (skip < 0 || skip >= hiddenStates.size() - 1) {
                throw new IllegalArgumentException("clip skip must be in [0, " + (hiddenStates.size() - 2) + "], got "
                        + skip);
            }
            return skip == 0 ? lastHiddenState
                    : model.finalLayerNorm.forward(hiddenStates.get(hiddenStates.size() - 1 - skip));
        }
    }

    /**
     * @param ids           int64 [B, L], L at most max_position_embeddings
     * @param attentionMask int64 [B, L] with 1 for tokens and 0 for padding, or null to attend to every earlier token
     *                      (what Stable Diffusion pipelines do)
     */
    public Output forward(Tensor ids, Tensor attentionMask) {
        Shapes.require(ids, "input ids", Shapes.ANY, Shapes.ANY);
        long b = ids.size(0);
        long len = ids.size(1);
        if (len > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("input ids have " + len + " positions; the model has "
                    + config.maxPositionEmbeddings());
        }
        if (attentionMask != null) {
            Shapes.requireSame(attentionMask, "attention mask", ids, "input ids");
        }
        Tensor x = torch.embedding(tokenEmbedding, ids).add(positionEmbedding.narrow(0, 0, len).unsqueeze(0));
        // Additive mask [B, 1, L, L]: the causal part, plus padded keys when a mask is given.
        Tensor mask = torch.triu(torch.full(new long[] {len, len}, Tensors.scalar(MASKED)), 1).view(1, 1, len, len);
        if (attentionMask != null) {
            Tensor padded = attentionMask.eq(Tensors.scalar(0)).view(b, 1, 1, len).to(torch.ScalarType.Float);
            mask = mask.add(padded.mul(Tensors.scalar(MASKED)));
        }
        List<Tensor> hidden = new ArrayList<>();
        hidden.add(x);
        for (EncoderLayer layer : layers) {
            x = layer.forward(x, mask);
            hidden.add(x);
        }
        Tensor last = finalLayerNorm.forward(x);
        Tensor positions = config.eosTokenId() == 2 ? torch.argmax(ids, new LongOptional(-1), false)
                : ids.eq(Tensors.scalar(config.eosTokenId())).to(torch.ScalarType.Int).argmax(new LongOptional(-1),
                        false);
        Tensor pooled = last.gather(1, positions.view(b, 1, 1).expand(b, 1, last.size(2))).squeeze(1);
        return new Output(last, pooled, List.copyOf(hidden));
    }

    /** nn.LayerNorm over the last dimension. */
    static final class LayerNorm extends Layers.Node {
        private final Tensor weight;
        private final Tensor bias;
        private final double eps;

        LayerNorm(int dim, double eps) {
            weight = param(this, "weight", torch.ones(dim));
            bias = param(this, "bias", torch.zeros(dim));
            this.eps = eps;
        }

        Tensor forward(Tensor x) {
            return torch.layer_norm(x, new long[] {x.size(-1)}, new TensorOptional(weight), new TensorOptional(bias),
                    eps, false);
        }
    }

    /** One pre-LayerNorm transformer layer: x + attn(ln1(x)), then + mlp(ln2(x)). */
    static final class EncoderLayer extends Layers.Node {
        private final Layers.Linear q;
        private final Layers.Linear k;
        private final Layers.Linear v;
        private final Layers.Linear out;
        private final Layers.Linear fc1;
        private final Layers.Linear fc2;
        private final LayerNorm norm1;
        private final LayerNorm norm2;
        private final int heads;
        private final boolean quickGelu;

        EncoderLayer(ClipTextConfig c) {
            int d = c.hiddenSize();
            heads = c.numAttentionHeads();
            quickGelu = c.hiddenAct().equals("quick_gelu");
            Module attn = container(this, "self_attn");
            k = attn.register_module("k_proj", new Layers.Linear(d, d));
            v = attn.register_module("v_proj", new Layers.Linear(d, d));
            q = attn.register_module("q_proj", new Layers.Linear(d, d));
            out = attn.register_module("out_proj", new Layers.Linear(d, d));
            norm1 = register_module("layer_norm1", new LayerNorm(d, c.layerNormEps()));
            Module mlp = container(this, "mlp");
            fc1 = mlp.register_module("fc1", new Layers.Linear(d, c.intermediateSize()));
            fc2 = mlp.register_module("fc2", new Layers.Linear(c.intermediateSize(), d));
            norm2 = register_module("layer_norm2", new LayerNorm(d, c.layerNormEps()));
        }

        /** [B, L, D] -> [B, L, D]; {@code mask} is additive, [B or 1, 1, L, L]. */
        Tensor forward(Tensor x, Tensor mask) {
            long b = x.size(0);
            long len = x.size(1);
            long d = x.size(2);
            long hd = d / heads;
            Tensor h = norm1.forward(x);
            // transformers scales q before the product, as here.
            Tensor qs = q.forward(h).mul(Tensors.scalar(1 / Math.sqrt(hd))).view(b, len, heads, hd).transpose(1, 2);
            Tensor ks = k.forward(h).view(b, len, heads, hd).transpose(1, 2);
            Tensor vs = v.forward(h).view(b, len, heads, hd).transpose(1, 2);
            Tensor scores = torch.matmul(qs, ks.transpose(2, 3)).add(mask);
            Tensor att = torch.matmul(torch.softmax(scores, -1, new ScalarTypeOptional()), vs);
            x = x.add(out.forward(att.transpose(1, 2).reshape(b, len, d)));
            Tensor m = fc1.forward(norm2.forward(x));
            m = quickGelu ? m.mul(torch.sigmoid(m.mul(Tensors.scalar(1.702)))) : torch.gelu(m);
            return x.add(fc2.forward(m));
        }
    }
}
