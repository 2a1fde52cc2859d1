package org.diffusion4j.model.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.StringTensorDict;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.ParameterShapes;
import org.diffusion4j.model.unet.UNet2DConditionConfig;
import org.diffusion4j.tensor.Rng;

/**
 * A text-conditioned latent U-Net trained here: Stable Diffusion's two trained parts at a small size, a
 * {@link ClipTextModel} and a {@link org.diffusion4j.model.unet.UNet2DConditionModel} attending to its last hidden
 * state, with the tokenizer and the captions they were trained on. Stored in every checkpoint, so that a checkpoint
 * alone rebuilds the model and its tokenizer, and exports as a diffusers pipeline folder.
 *
 * @param unet        the U-Net (its cross_attention_dim must equal the text encoder's hidden size)
 * @param textEncoder the text encoder (its vocabulary the tokenizer's, 77 positions)
 * @param tokens      the tokenizer's vocabulary by id
 * @param merges      its BPE merges in rank order
 * @param captions    the captions trained on, per class (for evaluation and examples)
 */
public record TextUNetConfig(UNet2DConditionConfig unet, ClipTextConfig textEncoder, List<String> tokens,
                             List<String> merges, List<List<String>> captions) implements NetworkConfig {
    /** Bounds that keep {@link #parameterShapes} (which builds the model) small: this type is for small models. */
    static final int MAX_CHANNELS = 512;
    static final int MAX_VOCAB = 1 << 16;
    static final int MAX_TEXT_WIDTH = 1024;
    static final int MAX_TEXT_LAYERS = 24;

    public TextUNetConfig {
        if (unet == null || textEncoder == null || tokens == null || merges == null || captions == null) {
            throw new IllegalArgumentException("unet, text_encoder, tokens, merges and captions must all be set");
        }
        tokens = List.copyOf(tokens);
        merges = List.copyOf(merges);
        List<List<String>> copy = new ArrayList<>();
        for (List<String> c : captions) {
            copy.add(List.copyOf(c));
        }
        captions = List.copyOf(copy);
        for (int c : unet.blockOutChannels()) {
            if (c > MAX_CHANNELS) {
                throw new IllegalArgumentException("block_out_channels entry " + c + " is above " + MAX_CHANNELS
                        + " (text-conditioned U-Nets trained here are small)");
            }
        }
        if (unet.crossAttnDim() != textEncoder.hiddenSize()) {
            throw new IllegalArgumentException("the U-Net's cross_attention_dim " + unet.crossAttnDim()
                    + " differs from the text encoder's hidden_size " + textEncoder.hiddenSize());
        }
        if (textEncoder.vocabSize() != tokens.size() || tokens.size() > MAX_VOCAB) {
            throw new IllegalArgumentException("the text encoder's vocab_size " + textEncoder.vocabSize()
                    + " must equal the tokenizer's " + tokens.size() + " tokens, at most " + MAX_VOCAB);
        }
        if (textEncoder.hiddenSize() > MAX_TEXT_WIDTH || textEncoder.numHiddenLayers() > MAX_TEXT_LAYERS
                || textEncoder.intermediateSize() > 4 * MAX_TEXT_WIDTH) {
            throw new IllegalArgumentException("the text encoder is above this type's bounds (hidden_size "
                    + MAX_TEXT_WIDTH + ", " + MAX_TEXT_LAYERS + " layers)");
        }
        if (textEncoder.maxPositionEmbeddings() != ClipTokenizer.MAX_LENGTH) {
            throw new IllegalArgumentException("the text encoder needs " + ClipTokenizer.MAX_LENGTH
                    + " positions, has " + textEncoder.maxPositionEmbeddings());
        }
        if (captions.isEmpty() || captions.stream().anyMatch(List::isEmpty)) {
            throw new IllegalArgumentException("every class needs at least one caption");
        }
        // The tokenizer must build (start and end tokens present, merges well formed).
        tokenizer(tokens, merges);
    }

    /**
     * The layout trained here: a tokenizer learned from the captions, a CLIP text encoder of {@code textWidth} and
     * {@code textLayers} (quick_gelu, heads of 32 channels), and a U-Net with cross-attention at every level but the
     * deepest (as SD's), heads of 32 channels, GroupNorm of 8 groups.
     *
     * @param sampleShape the latents' [C, H, W]
     * @param channels    the U-Net's block_out_channels
     */
    public static TextUNetConfig of(long[] sampleShape, List<Integer> channels, int textWidth, int textLayers,
                                    List<List<String>> captions) {
        if (sampleShape.length != 3 || sampleShape[1] != sampleShape[2]) {
            throw new IllegalArgumentException("a text-conditioned U-Net needs square [C, H, W] data, got "
                    + Arrays.toString(sampleShape));
        }
        if (textWidth < 32 || textWidth % 32 != 0 || textWidth > MAX_TEXT_WIDTH) {
            throw new IllegalArgumentException("--text-width must be a multiple of 32 in [32, " + MAX_TEXT_WIDTH
                    + "], got " + textWidth);
        }
        if (textLayers < 1 || textLayers > MAX_TEXT_LAYERS) {
            throw new IllegalArgumentException("--text-layers must be in [1, " + MAX_TEXT_LAYERS + "], got "
                    + textLayers);
        }
        List<String> corpus = captions.stream().flatMap(List::stream).toList();
        ClipTokenizer tok = BpeLearner.learn(corpus, 20_000);
        ClipTextConfig text = new ClipTextConfig(tok.vocabSize(), textWidth, 4 * textWidth, textLayers,
                textWidth / 32, ClipTokenizer.MAX_LENGTH, "quick_gelu", 1e-5, tok.endId());
        int levels = channels.size();
        List<String> down = new ArrayList<>();
        List<String> up = new ArrayList<>();
        List<Integer> heads = new ArrayList<>();
        List<Boolean> onlyCross = new ArrayList<>();
        for (int i = 0; i < levels; i++) {
            boolean cross = levels == 1 || i < levels - 1;
            down.add(cross ? "CrossAttnDownBlock2D" : "DownBlock2D");
            up.add(0, cross ? "CrossAttnUpBlock2D" : "UpBlock2D");
            heads.add(Math.max(1, channels.get(i) / 32));
            onlyCross.add(false);
        }
        int c = (int) sampleShape[0];
        UNet2DConditionConfig unet = new UNet2DConditionConfig((int) sampleShape[1], c, c, channels, 1, down, up,
                heads, textWidth, false, onlyCross, false, 8, 1e-5, true, 0, 1);
        return new TextUNetConfig(unet, text, tok.tokensById(), tok.merges(), captions);
    }

    @Override
    public String modelType() {
        return "text-unet";
    }

    @Override
    public long[] sampleShape() {
        return new long[] {unet.inChannels(), unet.sampleSize(), unet.sampleSize()};
    }

    @Override
    public Integer numClassEmbeds() {
        return null;
    }

    /** The tokenizer the model was trained with (pads with the end token). */
    public ClipTokenizer tokenizer() {
        return tokenizer(tokens, merges);
    }

    private static ClipTokenizer tokenizer(List<String> tokens, List<String> merges) {
        Map<String, Integer> vocab = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            if (vocab.put(tokens.get(i), i) != null) {
                throw new IllegalArgumentException("token '" + tokens.get(i) + "' appears twice in the vocabulary");
            }
        }
        return new ClipTokenizer(vocab, merges, ClipTokenizer.END);
    }

    /** Read from a built model: the constructor's bounds keep it small. */
    @Override
    public ParameterShapes parameterShapes() {
        ParameterShapes p = new ParameterShapes();
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = new TextUNet(this, null);
            StringTensorDict params = net.named_parameters(true);
            for (long i = 0; i < params.size(); i++) {
                p.add(params.get(i).key().getString(), params.get(i).value().sizes().vec().get());
            }
            net.close();
        }
        return p;
    }

    @Override
    public long activationBytesPerSample() {
        return 4L * unet.blockOutChannels().get(0) * unet.sampleSize() * unet.sampleSize() * Float.BYTES;
    }

    @Override
    public TextUNet build(Rng rng) {
        return new TextUNet(this, rng);
    }
}
