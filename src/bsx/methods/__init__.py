"""Built-in methods, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl
from bsx.plugins import Spec, lazy


@hookimpl
def register_methods(register):  # type: ignore[no-untyped-def]
    from bsx.methods import options as o

    for name, target, desc, opts in (
        ("gradcam", "gradcam:GradCam",
         "Grad-CAM (ReLU) on the last conv block, upsampled to the input", o.GradCamOptions),
        ("occlusion", "occlusion:Occlusion",
         "The paper's 2-D occlusion: 1 x 10 patch, stride 1 x 3, baseline 0 dB",
         o.OcclusionOptions),
        ("occlusion-time", "occlusion:TimeOcclusion",
         "Time-band occlusion: all mel bands of 10 frames at once, baseline the dB floor",
         o.TimeOcclusionOptions),
        ("crp", "crp:Crp",
         "Concept Relevance Propagation (EpsilonPlusFlat, residual-aware canonizer)",
         o.CrpOptions),
        ("lrp", "lrp:Lrp",
         "LRP with zennit's EpsilonPlusFlat and residual-aware canonizers", o.LrpOptions),
        ("saliency", "gradients:Saliency", "Gradient saliency |d logit / d input|",
         o.SaliencyOptions),
        ("integrated-gradients", "gradients:IntegratedGradients",
         "Integrated Gradients from the dB floor (silence)", o.IntegratedGradientsOptions),
        ("random", "random:RandomMap", "Seeded uniform noise: the sanity floor",
         o.RandomOptions),
        ("input-x-gradient", "waveform:InputXGradient",
         "Input x gradient (Captum InputXGradient) on the waveform (waveform models)",
         o.InputXGradientOptions),
        ("attention-rollout", "rollout:AttentionRollout",
         "Attention rollout (Abnar & Zuidema 2020) spread over each token's samples "
         "(waveform transformers)", o.AttentionRolloutOptions),
        ("attnlrp", "attnlrp:AttnLrp",
         "AttnLRP / CP-LRP on waveform transformers (wav2vec2 family)", o.AttnLrpOptions),
    ):
        register(Spec(name=name, kind="method", description=desc,
                      factory=lazy(f"bsx.methods.{target}"), options=opts))
