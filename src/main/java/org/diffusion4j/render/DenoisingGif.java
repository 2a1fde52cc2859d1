package org.diffusion4j.render;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.AtomicFiles;
import org.diffusion4j.sampler.StepListener;

/**
 * Records a sampler's trajectory as an animated GIF: each frame shows x_t (left) and the predicted x0 (right) for
 * the first images of the batch. Frames are rendered as they arrive, so no tensors are kept.
 */
public final class DenoisingGif implements StepListener {
    private final int images;
    private final int every;
    private final List<BufferedImage> frames = new ArrayList<>();

    /**
     * @param images how many samples of the batch to show (from the first)
     * @param every  keep one frame every this many steps (the last step is always kept)
     */
    public DenoisingGif(int images, int every) {
        if (images < 1 || every < 1) {
            throw new IllegalArgumentException("GIF images and frame interval must be >= 1");
        }
        this.images = images;
        this.every = every;
    }

    @Override
    public void onStep(int index, int count, Tensor xt, Tensor predictedX0) {
        if (index % every != 0 && index != count - 1) {
            return;
        }
        int n = (int) Math.min(images, xt.size(0));
        BufferedImage left = ImageGrid.render(xt.narrow(0, 0, n), n, 2);
        BufferedImage right = ImageGrid.render(predictedX0.narrow(0, 0, n), n, 2);
        BufferedImage frame = new BufferedImage(left.getWidth() + right.getWidth() + 8, left.getHeight(),
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = frame.createGraphics();
        try {
            g.drawImage(left, 0, 0, null);
            g.drawImage(right, left.getWidth() + 8, 0, null);
        } finally {
            g.dispose();
        }
        frames.add(frame);
    }

    /** Frames recorded so far. */
    public int frameCount() {
        return frames.size();
    }

    /** Writes the animation (looping, {@code delayMs} per frame) atomically. */
    public void write(Path file, int delayMs) throws IOException {
        if (frames.isEmpty()) {
            throw new IllegalStateException("no frames recorded");
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            for (BufferedImage f : frames) {
                IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(f), null);
                String format = meta.getNativeMetadataFormatName();
                IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(format);
                IIOMetadataNode gce = new IIOMetadataNode("GraphicControlExtension");
                gce.setAttribute("disposalMethod", "none");
                gce.setAttribute("userInputFlag", "FALSE");
                gce.setAttribute("transparentColorFlag", "FALSE");
                gce.setAttribute("delayTime", Integer.toString(Math.max(1, delayMs / 10)));
                gce.setAttribute("transparentColorIndex", "0");
                root.appendChild(gce);
                IIOMetadataNode apps = new IIOMetadataNode("ApplicationExtensions");
                IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
                app.setAttribute("applicationID", "NETSCAPE");
                app.setAttribute("authenticationCode", "2.0");
                app.setUserObject(new byte[] {1, 0, 0});
                apps.appendChild(app);
                root.appendChild(apps);
                meta.setFromTree(format, root);
                writer.writeToSequence(new IIOImage(f, null, meta), null);
            }
            writer.endWriteSequence();
        } finally {
            writer.dispose();
        }
        AtomicFiles.write(file, bytes.toByteArray());
    }
}
