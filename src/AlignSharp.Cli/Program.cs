AlignSharp.Runtime.NativeRuntime.EnsureLoaded();
Console.WriteLine(TorchSharp.torch.ones(3).sum().item<float>());
